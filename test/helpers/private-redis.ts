import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, portAnswers } from "./processes.js";
import { waitFor } from "./wait-for.js";

/**
 * A redis-server of the test's own, on a free loopback port, that the test may stop, hang
 * (SIGSTOP: the TCP connections stay open but nothing answers) and start again on the same port.
 * Never the suite's shared Redis, never one a developer runs.
 */
export interface PrivateRedis {
  port: number;
  url: string;
  /** Stops the server (SIGKILL: no chance to answer anything more). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps no data). */
  start(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing answers. */
  hang(): void;
  /** SIGCONT after hang(). */
  resume(): void;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "iris-private-redis-"));
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child) return;
    const c = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir],
      { stdio: "ignore" },
    );
    child = c;
    c.once("exit", () => {
      if (child === c) child = null;
    });
    await waitFor(() => portAnswers(port), { timeoutMs: 10_000, intervalMs: 20, what: `private redis on :${port}` });
  };
  const stop = async () => {
    const c = child;
    if (!c) return;
    c.kill("SIGCONT");
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
    await waitFor(async () => !(await portAnswers(port)), { timeoutMs: 5000, intervalMs: 20, what: "redis port closed" });
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    hang: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
