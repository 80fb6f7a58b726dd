import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./processes.js";
import { waitFor } from "./wait-for.js";

/**
 * A Redis primary, one replica and three sentinels of the test's own, on free loopback ports with
 * their own directories: a failover group nobody else uses.
 */
export interface SentinelGroup {
  /** The name the sentinels monitor (REDIS_SENTINEL_NAME). */
  name: string;
  /** REDIS_SENTINELS. */
  sentinels: string;
  /** The data nodes' ports, the first one the primary at the start. */
  ports: number[];
  /** The port of the node the sentinels call primary now. */
  primaryPort(): Promise<number>;
  /** SIGKILLs the data node on `port`. */
  kill(port: number): Promise<void>;
  /** SIGSTOP / SIGCONT for the node on `port`: its connections stay open, it answers nothing. */
  hang(port: number): void;
  resume(port: number): void;
  close(): Promise<void>;
}

const NAME = "iris-failover";

export async function startSentinelGroup(): Promise<SentinelGroup> {
  const dir = mkdtempSync(join(tmpdir(), "iris-sentinel-"));
  const children = new Map<number, ChildProcess>();
  const start = (port: number, args: string[]) => {
    const child = spawn("redis-server", args, { stdio: "ignore" });
    children.set(port, child);
    return child;
  };
  const client = (port: number) => {
    const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
    c.on("error", () => {});
    return c;
  };
  /** Runs `fn` on a short-lived connection to `port`; null when it does not answer. */
  const ask = async <T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T | null> => {
    const c = client(port);
    try {
      await c.connect();
      return await fn(c);
    } catch {
      return null;
    } finally {
      c.disconnect();
    }
  };

  const ports = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const [i, port] of ports.entries()) {
    const d = join(dir, `data-${i}`);
    mkdirSync(d);
    start(port, [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", d,
      ...(i > 0 ? ["--replicaof", "127.0.0.1", String(ports[0])] : []),
    ]);
  }
  for (const [i, port] of sentinelPorts.entries()) {
    const conf = join(dir, `sentinel-${i}.conf`);
    // A sentinel rewrites its file (it records what it learns), so each has its own.
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        `sentinel monitor ${NAME} 127.0.0.1 ${ports[0]} 2`,
        `sentinel down-after-milliseconds ${NAME} 1000`,
        `sentinel failover-timeout ${NAME} 10000`,
        `sentinel parallel-syncs ${NAME} 1`,
        "",
      ].join("\n"),
    );
    start(port, [conf, "--sentinel"]);
  }
  const primaryPort = async () => {
    for (const port of sentinelPorts) {
      const addr = await ask(port, (c) => c.call("SENTINEL", "get-master-addr-by-name", NAME) as Promise<string[] | null>);
      if (addr?.[1]) return Number(addr[1]);
    }
    throw new Error("no sentinel names a primary");
  };
  const group: SentinelGroup = {
    name: NAME,
    sentinels: sentinelPorts.map((p) => `127.0.0.1:${p}`).join(","),
    ports,
    primaryPort,
    async kill(port) {
      const child = children.get(port);
      if (!child || child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    },
    hang: (port) => void children.get(port)?.kill("SIGSTOP"),
    resume: (port) => void children.get(port)?.kill("SIGCONT"),
    async close() {
      for (const child of children.values()) child.kill("SIGCONT");
      await Promise.all(
        [...children.values()].map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once("exit", r));
          child.kill("SIGKILL");
          await exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // Ready for a failover: the replica is in sync, and every sentinel knows the replica and the
    // two other sentinels (without them a sentinel can neither reach quorum nor promote).
    await waitFor(
      async () => (await ask(ports[0]!, (c) => c.info("replication")))?.includes("state=online") ?? false,
      { timeoutMs: 15_000, intervalMs: 50, what: "the replica in sync" },
    );
    await waitFor(
      async () => {
        for (const port of sentinelPorts) {
          const master = await ask(port, (c) => c.call("SENTINEL", "master", NAME) as Promise<string[]>);
          if (!master) return false;
          const field = (k: string) => Number(master[master.indexOf(k) + 1]);
          if (field("num-slaves") < 1 || field("num-other-sentinels") < 2) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: "three sentinels that know the replica and each other" },
    );
  } catch (err) {
    await group.close();
    throw err;
  }
  return group;
}
