// The Dockerfile's runtime stage, rebuilt without Docker: a directory holding what that stage
// copies and `npm ci --omit=dev` installs. Its web and worker run the whole pipeline on the real
// services, and the image's HEALTHCHECK command (taken from the Dockerfile) passes against both.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { RUNTIME_FLAGS } from "../helpers/entry.js";
import { freePort, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const runtimeStage = dockerfile.split(/^FROM /m).at(-1)!;
const healthcheck = JSON.parse(dockerfile.match(/^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m)![1]!) as string[];
const cmd = JSON.parse(dockerfile.match(/^CMD (\[.*\])$/m)![1]!) as string[];

/** Runs the image's HEALTHCHECK command with `env`; resolves with its exit code. */
function runHealthcheck(env: Record<string, string>): number | null {
  assert.equal(healthcheck[0], "node");
  return spawnSync(process.execPath, healthcheck.slice(1), {
    env: { PATH: process.env.PATH ?? "", ...env },
    timeout: 10_000,
  }).status;
}

describe("the image's runtime stage, without Docker", () => {
  const app = mkdtempSync(join(tmpdir(), "iris-image-"));
  const ns = uniqueName("image");
  const procs: ServiceProcess[] = [];
  let env: Record<string, string>;
  let webPort = 0;

  before(async () => {
    // What the runtime stage installs…
    cpSync(join(ROOT, "package.json"), join(app, "package.json"));
    cpSync(join(ROOT, "package-lock.json"), join(app, "package-lock.json"));
    const install = spawnSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
      cwd: app,
      encoding: "utf8",
      timeout: 300_000,
    });
    assert.equal(install.status, 0, install.stderr);
    // …and every `COPY --from=build <sources…> <dest>` it makes, as written in the Dockerfile.
    const copies = [...runtimeStage.matchAll(/^COPY --from=build (.+)$/gm)].map((m) => m[1]!.split(/\s+/));
    assert.ok(copies.length >= 2);
    for (const parts of copies) {
      const dest = parts.at(-1)!;
      for (const src of parts.slice(0, -1)) {
        const from = join(ROOT, src.replace(/^\/app\//, ""));
        const to = dest.endsWith("/") ? join(app, dest, src.split("/").at(-1)!) : join(app, dest);
        mkdirSync(dirname(to), { recursive: true });
        cpSync(from, to, { recursive: true });
      }
    }
    assert.ok(!existsSync(join(app, "node_modules", "typescript")), "no dev dependency in the runtime");
    const { redisUrl, rabbitUrl } = realServices();
    webPort = await freePort();
    env = {
      NODE_ENV: "production",
      RABBITMQ_URL: rabbitUrl,
      REDIS_URL: redisUrl,
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: join(app, "results_data"),
      PORT: String(webPort),
      HOST: "127.0.0.1",
    };
    // startProcess runs `node <the web's RUNTIME_FLAGS> entry`: the image's very command.
    assert.deepEqual(cmd, ["node", ...RUNTIME_FLAGS.web, "dist/app/main.js"]);
    procs.push(await startProcess(cmd.at(-1)!, env, { readyMsg: "web ready", cwd: app, timeoutMs: 30_000 }));
  });

  after(async () => {
    const codes = await Promise.all(procs.map((p) => p.stop()));
    await deleteQueues(`${ns}.jobs`);
    rmSync(app, { recursive: true, force: true });
    const failed = procs.filter((_, i) => codes[i] !== 0).map((p) => p.lines.slice(-15).join("\n"));
    assert.ok(
      codes.every((c) => c === 0),
      `exit codes ${codes}\n${failed.join("\n---\n")}`,
    );
  });

  it("the web (the image's CMD) answers the HEALTHCHECK; nothing listening fails it", async () => {
    assert.equal(runHealthcheck({ PORT: String(webPort) }), 0);
    assert.equal(runHealthcheck({ PORT: String(await freePort()) }), 1);
  });

  it("a worker (npm run worker's command) answers the HEALTHCHECK on WORKER_HEALTH_PORT", async () => {
    const healthPort = await freePort();
    const workerEntry = (
      JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { worker: string } }
    ).scripts.worker
      .split(" ")
      .at(-1)!;
    procs.push(
      await startProcess(
        workerEntry,
        { ...env, WORKER_HEALTH_PORT: String(healthPort) },
        {
          readyMsg: "worker ready",
          cwd: app,
          timeoutMs: 30_000,
        },
      ),
    );
    // The worker container also has PORT from the image (8080): WORKER_HEALTH_PORT wins.
    assert.equal(runHealthcheck({ PORT: String(await freePort()), WORKER_HEALTH_PORT: String(healthPort) }), 0);
  });

  it("production dependencies alone run the whole pipeline: form → worker → PDF", async () => {
    const base = `http://127.0.0.1:${webPort}`;
    const res = await fetch(`${base}/predict`, {
      method: "POST",
      body: new URLSearchParams({ sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.8", petal_width: "2.2" }),
      redirect: "manual",
    });
    assert.equal(res.status, 303);
    const jobid = res.headers.get("location")!.split("/").pop()!;
    await waitFor(
      async () =>
        ((await (await fetch(`${base}/progress?jobid=${jobid}`)).json()) as { state: string }).state === "SUCCESS",
      { timeoutMs: 20_000, what: "the job to succeed" },
    );
    const pdf = await fetch(`${base}/result?jobid=${jobid}`);
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers.get("content-type"), "application/pdf");
    // Read it whole: an unread response body keeps the download open, and so the web's shutdown.
    assert.equal((await pdf.arrayBuffer()).byteLength, Number(pdf.headers.get("content-length")));
  });
});
