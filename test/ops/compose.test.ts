// Docker cannot run on these machines: the compose file and the Dockerfile are checked as an
// operator would read them, and the compose file by docker-compose itself (`config` needs no engine).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { RUNTIME_FLAGS } from "../helpers/entry.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const scripts = (JSON.parse(read("package.json")) as { scripts: Record<string, string> }).scripts;

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  container_name?: string;
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  profiles?: string[];
}
const compose = parse(read("docker-compose.yml"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { rabbitmq, redis, web, worker, s3, "create-bucket": createBucket } = compose.services as Record<string, Service>;
const byProfile = (profile: string | undefined) =>
  Object.keys(compose.services)
    .filter((name) => compose.services[name]!.profiles?.[0] === profile)
    .sort();

describe("docker-compose.yml", () => {
  it("has rabbitmq, redis, web and worker, and in the s3 profile only s3 and create-bucket", () => {
    assert.deepEqual(byProfile(undefined), ["rabbitmq", "redis", "web", "worker"]);
    assert.deepEqual(byProfile("s3"), ["create-bucket", "s3"]);
    assert.deepEqual(s3!.profiles, ["s3"]);
    assert.deepEqual(createBucket!.profiles, ["s3"]);
  });

  it("rabbitmq: credentials from the environment (never guest), a health check, a data volume", () => {
    const env = rabbitmq!.environment!;
    assert.match(env.RABBITMQ_DEFAULT_USER!, /^\$\{RABBITMQ_USER/);
    assert.match(env.RABBITMQ_DEFAULT_PASS!, /^\$\{RABBITMQ_PASSWORD:\?/, "the password is required, no default");
    assert.ok(!JSON.stringify(rabbitmq).includes("guest"));
    assert.equal(rabbitmq!.healthcheck!.test![1], "rabbitmq-diagnostics");
    assert.ok(rabbitmq!.volumes!.some((v) => v.endsWith(":/var/lib/rabbitmq")));
    assert.equal(rabbitmq!.restart, "unless-stopped");
  });

  it("redis: append-only persistence on a volume, a health check", () => {
    assert.deepEqual(redis!.command, ["redis-server", "--appendonly", "yes"]);
    assert.ok(redis!.volumes!.some((v) => /^redis-data:\/data$/.test(v)));
    assert.ok("redis-data" in compose.volumes);
    assert.match(redis!.healthcheck!.test!.join(" "), /redis-cli ping/);
    assert.equal(redis!.restart, "unless-stopped");
  });

  it("web: port 8080 on loopback unless WEB_BIND says otherwise, started only once rabbitmq and redis are healthy", () => {
    assert.deepEqual(web!.ports, ["${WEB_BIND:-127.0.0.1}:${WEB_PORT:-8080}:8080"]);
    assert.deepEqual(web!.depends_on, {
      rabbitmq: { condition: "service_healthy" },
      redis: { condition: "service_healthy" },
    });
    assert.equal(web!.environment!.PORT, "8080");
    assert.equal(web!.restart, "unless-stopped");
  });

  it("worker: scalable (no container_name, no host ports), same dependencies, the web's image (built once)", () => {
    assert.equal(worker!.container_name, undefined);
    assert.equal(worker!.ports, undefined);
    assert.equal(web!.container_name, undefined);
    assert.deepEqual(worker!.depends_on, web!.depends_on);
    assert.equal(worker!.image, web!.image);
    assert.equal(web!.build, ".");
    assert.equal(worker!.build, undefined, "only the web service builds");
    assert.equal(worker!.restart, "unless-stopped");
    assert.ok(worker!.environment!.WORKER_HEALTH_PORT, "the image's HEALTHCHECK has a port to probe");
  });

  it("web and workers share one results volume, mounted where RESULTS_DIR points", () => {
    for (const s of [web!, worker!]) {
      const mount = s.volumes!.find((v) => v.startsWith("results:"));
      assert.ok(mount, "results volume mounted");
      assert.equal(mount.split(":")[1], s.environment!.RESULTS_DIR);
    }
    assert.ok("results" in compose.volumes);
  });

  it("both reach the broker and Redis by service name, with the broker's credentials from the environment", () => {
    for (const s of [web!, worker!]) {
      assert.match(
        s.environment!.RABBITMQ_URL!,
        /^amqp:\/\/\$\{RABBITMQ_USER:-iris\}:\$\{RABBITMQ_PASSWORD:\?.*\}@rabbitmq:5672$/,
      );
      assert.equal(s.environment!.REDIS_URL, "redis://redis:6379");
    }
  });

  it("web and workers take REPORT_STORE (file by default) and the AWS variables, the endpoint defaulting to the s3 service", () => {
    for (const s of [web!, worker!, createBucket!]) {
      const env = s.environment!;
      assert.equal(env.REPORT_STORE, "${REPORT_STORE:-file}");
      assert.equal(env.AWS_ACCESS_KEY_ID, "${AWS_ACCESS_KEY_ID:-}");
      assert.equal(env.AWS_SECRET_ACCESS_KEY, "${AWS_SECRET_ACCESS_KEY:-}");
      assert.equal(env.AWS_REGION, "${AWS_REGION:-us-east-1}");
      // `-`, not `:-`: set and empty in .env means AWS S3 itself.
      assert.equal(env.AWS_ENDPOINT_URL_S3, "${AWS_ENDPOINT_URL_S3-http://s3:9000}");
    }
  });

  it("s3 (profile s3): a pinned MinIO release, its root user the services' key pair, a health check, a data volume, no host port", () => {
    assert.match(s3!.image!, /^minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    assert.deepEqual(s3!.command, ["server", "/data"]);
    assert.equal(s3!.environment!.MINIO_ROOT_USER, "${AWS_ACCESS_KEY_ID:-iris}");
    assert.equal(s3!.environment!.MINIO_ROOT_PASSWORD, "${AWS_SECRET_ACCESS_KEY:-}");
    assert.deepEqual(s3!.healthcheck!.test, ["CMD", "mc", "ready", "local"]);
    assert.deepEqual(s3!.volumes, ["s3-data:/data"]);
    assert.ok("s3-data" in compose.volumes);
    assert.equal(s3!.ports, undefined, "reached on the compose network only");
    assert.equal(s3!.restart, "unless-stopped");
  });

  it("create-bucket (profile s3): our image's bucket command, once MinIO is healthy, again only on failure and not for ever", () => {
    assert.equal(createBucket!.image, web!.image);
    assert.equal(createBucket!.build, undefined);
    assert.deepEqual(createBucket!.command, ["node", "dist/tasks/ensure-bucket.js"]);
    assert.deepEqual(createBucket!.depends_on, { s3: { condition: "service_healthy" } });
    // A refusal fails the same way on every run (the container keeps its environment): a bounded retry.
    assert.equal(createBucket!.restart, "on-failure:3");
    assert.equal(createBucket!.healthcheck!.disable, true, "the image's /healthz probe does not apply");
    assert.equal(createBucket!.ports, undefined);
  });

  it("web and workers do not depend on the s3 profile (it may be off); the stand-in is built for its image", () => {
    for (const s of [web!, worker!]) assert.ok(!("s3" in s.depends_on!) && !("create-bucket" in s.depends_on!));
    assert.match(read("scripts/test-compose.sh"), /minio\.Containerfile/);
    assert.match(read("scripts/compose-standins/minio.Containerfile"), /NOT MinIO/);
  });

  it("workers yield the CPU to the web between containers, as WORKER_NICE does within one host", () => {
    const shares = (s: typeof web) => (s as { cpu_shares?: number }).cpu_shares ?? 1024;
    assert.ok(shares(worker) < shares(web), `worker ${shares(worker)} against web ${shares(web)}`);
  });

  it("the commands are the npm scripts CI runs", () => {
    assert.equal(web!.command!.join(" "), scripts.web);
    assert.equal(worker!.command!.join(" "), scripts.worker);
  });

  it(".env.example names every variable the compose file requires, and leaves them empty", () => {
    // Empty, not an example value: `cp .env.example .env` unchanged makes compose refuse to start
    // (it cannot refuse a known example value; an empty one it does, saying which).
    const example = read(".env.example");
    const required = [...read("docker-compose.yml").matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1]);
    assert.ok(required.length > 0);
    for (const name of new Set(required)) assert.match(example, new RegExp(`^${name}=$`, "m"), name);
  });
});

describe("docker-compose config (Debian's docker-compose, no engine needed)", () => {
  const envFile = join(mkdtempSync(join(tmpdir(), "iris-compose-")), "empty.env");
  writeFileSync(envFile, "");
  // An empty --env-file, so a developer's own .env cannot change the result.
  // A leading `--profile NAME` is a global option: it goes before `config`.
  const config = (env: Record<string, string>, ...args: string[]) => {
    const global = args[0] === "--profile" ? args.splice(0, 2) : [];
    return spawnSync("docker-compose", ["--env-file", envFile, ...global, "config", ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      encoding: "utf8",
    });
  };

  it("accepts the file (config -q) when RABBITMQ_PASSWORD is set", () => {
    const res = config({ RABBITMQ_PASSWORD: "pw-for-test" }, "-q");
    assert.equal(res.error, undefined, "docker-compose is installed (scripts/test-services.sh installs it)");
    assert.equal(res.status, 0, res.stderr);
  });

  it("refuses to run without RABBITMQ_PASSWORD, saying which variable", () => {
    const res = config({}, "-q");
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /RABBITMQ_PASSWORD/);
  });

  it("refuses .env.example copied unchanged (its password is empty)", () => {
    const res = spawnSync("docker-compose", ["--env-file", join(ROOT, ".env.example"), "config", "-q"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp" },
      encoding: "utf8",
    });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /RABBITMQ_PASSWORD/);
  });

  it("with --profile s3 and REPORT_STORE=s3://…: valid, with s3 and create-bucket, and the keys resolved for all of them", () => {
    const env = { RABBITMQ_PASSWORD: "pw-for-test", REPORT_STORE: "s3://iris-reports/", AWS_SECRET_ACCESS_KEY: "s3-secret-for-test" };
    const res = config(env, "--profile", "s3");
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    assert.deepEqual(Object.keys(resolved.services).sort(), ["create-bucket", "rabbitmq", "redis", "s3", "web", "worker"]);
    for (const name of ["web", "worker", "create-bucket"]) {
      const e = resolved.services[name]!.environment!;
      assert.equal(e.REPORT_STORE, "s3://iris-reports/");
      assert.equal(e.AWS_ENDPOINT_URL_S3, "http://s3:9000");
      assert.equal(e.AWS_SECRET_ACCESS_KEY, "s3-secret-for-test");
    }
    assert.deepEqual(resolved.services.s3!.environment, { MINIO_ROOT_USER: "iris", MINIO_ROOT_PASSWORD: "s3-secret-for-test" });
    assert.equal(resolved.services["create-bucket"]!.environment!.RABBITMQ_URL, undefined, "it needs no broker");
    assert.ok("s3-data" in resolved.volumes);
  });

  it("without the profile the s3 services stay off and web and workers keep REPORT_STORE=file", () => {
    const res = config({ RABBITMQ_PASSWORD: "pw-for-test" });
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service> };
    // docker-compose 1.29 lists every service; `up` starts only those of no profile or an active one.
    const off = Object.keys(resolved.services).filter((n) => resolved.services[n]!.profiles?.length);
    assert.deepEqual(off.sort(), ["create-bucket", "s3"]);
    for (const name of off) assert.deepEqual(resolved.services[name]!.profiles, ["s3"]);
    for (const name of ["web", "worker"]) {
      assert.equal(resolved.services[name]!.environment!.REPORT_STORE, "file");
    }
  });

  it("an empty AWS_ENDPOINT_URL_S3 stays empty (AWS S3 itself), not the s3 service", () => {
    const res = config({ RABBITMQ_PASSWORD: "pw-for-test", AWS_ENDPOINT_URL_S3: "" });
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service> };
    assert.equal(resolved.services.web!.environment!.AWS_ENDPOINT_URL_S3, "");
  });

  it("resolves the broker URL from the environment for web and worker", () => {
    const res = config({ RABBITMQ_PASSWORD: "pw-for-test", RABBITMQ_USER: "ops" });
    assert.equal(res.status, 0, res.stderr);
    const resolved = parse(res.stdout) as { services: Record<string, Service> };
    for (const name of ["web", "worker"]) {
      assert.equal(resolved.services[name]!.environment!.RABBITMQ_URL, "amqp://ops:pw-for-test@rabbitmq:5672");
    }
    assert.equal(resolved.services.rabbitmq!.environment!.RABBITMQ_DEFAULT_USER, "ops");
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const lines = dockerfile.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const runtime = stages.at(-1)!;

  it("is multi-stage: dependencies + type check, then a slim runtime with production dependencies only", () => {
    assert.ok(stages.length >= 2);
    assert.match(stages[0]!, /^RUN [^\n]*(\\\n[^\n]*)*npm ci --no-audit/m);
    assert.match(stages[0]!, /RUN npm run typecheck/);
    assert.match(runtime, /-slim AS runtime/);
    assert.match(runtime, /^RUN [^\n]*(\\\n[^\n]*)*npm ci --omit=dev/m);
    assert.doesNotMatch(runtime, /COPY \. /, "the runtime copies only what it runs");
  });

  it("runs as a non-root user", () => {
    const user = runtime.match(/^USER (\S+)/m)?.[1];
    assert.ok(user && user !== "root" && user !== "0", `USER ${user}`);
    const lastUser = lines.filter((l) => l.startsWith("USER ")).at(-1);
    assert.equal(lastUser, `USER ${user}`);
  });

  it("has a HEALTHCHECK against /healthz made with node (no curl in slim images)", () => {
    const hc = dockerfile.match(/^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m);
    assert.ok(hc, "HEALTHCHECK … CMD [...]");
    const cmd = JSON.parse(hc[1]!) as string[];
    assert.equal(cmd[0], "node");
    assert.match(cmd.join(" "), /\/healthz/);
    assert.match(cmd.join(" "), /WORKER_HEALTH_PORT/, "the same check works in a worker container");
  });

  it("its command is `npm run web`'s, and the run scripts are the npm scripts", () => {
    const cmd = JSON.parse(dockerfile.match(/^CMD (\[.*\])$/m)![1]!) as string[];
    assert.equal(cmd.join(" "), scripts.web);
    assert.match(read("scripts/run_web.sh"), new RegExp(`^exec ${scripts.web}$`, "m"));
    assert.match(read("scripts/run_worker.sh"), new RegExp(`^exec ${scripts.worker}$`, "m"));
  });

  it("runs the compiled JavaScript CI tests, with no TypeScript tooling at run time", () => {
    const pkg = JSON.parse(read("package.json")) as { dependencies: Record<string, string> };
    const web = RUNTIME_FLAGS.web.join(" ");
    const worker = RUNTIME_FLAGS.worker.join(" ");
    assert.equal(scripts.web, `node ${web} dist/app/main.js`);
    assert.equal(scripts.worker, `node ${worker} dist/tasks/main.js`);
    assert.match(scripts.start!, new RegExp(`node ${web} dist/app/embedded.js$`));
    const devStack = read("scripts/dev-stack.sh");
    assert.match(devStack, new RegExp(`^web_flags=\\(${web}\\)$`, "m"));
    assert.match(devStack, new RegExp(`^worker_flags=\\(${worker}\\)$`, "m"));
    assert.ok(
      !pkg.dependencies.tsx && !pkg.dependencies.typescript,
      "no compiler or loader in production dependencies",
    );
    assert.match(dockerfile, /RUN npm run typecheck && npm run build/);
  });

  it(".dockerignore keeps secrets, dependencies and local state out of the build context", () => {
    const ignore = read(".dockerignore").split("\n");
    for (const entry of [".git", "node_modules", ".env", "results_data", ".test-services", ".dev-stack"]) {
      assert.ok(ignore.includes(entry), entry);
    }
  });
});
