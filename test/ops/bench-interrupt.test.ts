// A benchmark probe stopped half way (Ctrl-C, `timeout`, a closed terminal, its web dying) must
// not leave its private Redis and RabbitMQ running, nor its web and worker processes retrying
// against them for ever: the services are daemons outside its process group, and `timeout`
// signals only the probe.
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Whether something accepts a connection on 127.0.0.1:port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

/** The pids of `pid`'s children whose command line matches `pattern`. */
function childrenMatching(pid: number, pattern: string): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(pid), "-f", pattern], { encoding: "utf8" })
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Starts `cpu-probe.ts` (with its own services' state directory: the test run's own services are
 * recorded in the default one), waits for its services, web and 2 workers, then calls `interrupt`
 * with the probe and the pids of its web (first) and workers. Checks that the probe exits with
 * `code`, that its Redis and RabbitMQ stop answering and that its web and workers are gone.
 */
async function interruptProbe(interrupt: (probe: ChildProcess, stack: number[]) => void, code: number): Promise<void> {
  const state = mkdtempSync(join(tmpdir(), "iris-bench-signal-"));
  const env: NodeJS.ProcessEnv = { ...process.env, N: "1000000", SERVICES_STATE_DIR: state };
  delete env.REDIS_URL;
  delete env.RABBITMQ_URL;
  const probe = spawn(process.execPath, ["--import", "tsx", "scripts/bench/cpu-probe.ts"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  probe.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => probe.once("exit", (c) => r(c)));
  let stack: number[] = [];
  try {
    await waitFor(() => /started rabbitmq .* on :\d+/.test(stderr), {
      timeoutMs: 60_000,
      what: "services started",
    });
    const redisPort = Number(/started redis on :(\d+)/.exec(stderr)![1]);
    const rabbitPort = Number(/started rabbitmq .* on :(\d+)/.exec(stderr)![1]);
    await waitFor(
      () =>
        (stack = [
          ...childrenMatching(probe.pid!, "dist/app/main.js"),
          ...childrenMatching(probe.pid!, "dist/tasks/main.js"),
        ]).length === 3,
      { timeoutMs: 60_000, what: "web and 2 workers started" },
    );
    assert.ok(await answers(redisPort));
    assert.ok(await answers(rabbitPort));

    interrupt(probe, stack);
    assert.equal(await exited, code, stderr);
    await waitFor(async () => !(await answers(redisPort)) && !(await answers(rabbitPort)), {
      timeoutMs: 30_000,
      what: "Redis and RabbitMQ stopped",
    });
    await waitFor(() => stack.every((pid) => !alive(pid)), { timeoutMs: 15_000, what: "web and workers stopped" });
  } finally {
    probe.kill("SIGKILL");
    for (const pid of stack.filter(alive)) process.kill(pid, "SIGKILL");
    // Whatever the probe left (only when this test fails): stopped by what its state records.
    execFileSync("bash", ["scripts/test-services.sh", "down"], { cwd: ROOT, env, stdio: "ignore" });
    rmSync(state, { recursive: true, force: true });
  }
}

describe("a benchmark probe interrupted", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`stops the services it started and its web and workers on ${signal}`, async () => {
      await interruptProbe((probe) => probe.kill(signal), signal === "SIGINT" ? 130 : 143);
    });
  }

  it("stops the services it started and its workers when its web dies, rather than wait for ever", async () => {
    await interruptProbe((_probe, [web]) => process.kill(web!, "SIGKILL"), 1);
  });
});
