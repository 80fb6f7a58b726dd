// Starts the real stack for the benchmark: services (via test-services.sh), a web process and W workers.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { compiledEntry, runtimeFlags } from "../../test/helpers/entry.js";
import { freePort } from "../../test/helpers/processes.js";
import { waitFor } from "../../test/helpers/wait-for.js";

/** The processes a probe started (web, workers, bare Koa), and its services' release. */
const children = new Set<ChildProcess>();
const releases = new Set<() => void>();

// A probe that ends any way but its own clean stop (Ctrl-C, `timeout`, a closed terminal, an
// uncaught error, a web or worker that died) stops what it started: the services are daemons
// outside its process group, and `timeout` signals the probe alone, so its web and workers would
// otherwise go on retrying against services that are gone. Synchronous, as "exit" requires.
process.once("exit", () => {
  for (const child of children) child.kill("SIGTERM");
  for (const release of releases) release();
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => process.exit(128 + constants.signals[signal]));
}

/** URLs of the services, started when nothing answers (and stopped by `release`, or a signal). */
export function acquireServices(): { redisUrl: string; rabbitUrl: string; release(): void } {
  if (process.env.REDIS_URL && process.env.RABBITMQ_URL) {
    return { redisUrl: process.env.REDIS_URL, rabbitUrl: process.env.RABBITMQ_URL, release() {} };
  }
  const out = execFileSync("bash", ["scripts/test-services.sh", "up-private"], { encoding: "utf8" });
  const vars = Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => l.split(/=(.*)/s).slice(0, 2)),
  );
  const started = (vars.STARTED ?? "").split(" ").filter(Boolean);
  const release = () => {
    releases.delete(release);
    if (started.length) execFileSync("bash", ["scripts/test-services.sh", "down", ...started], { stdio: "ignore" });
  };
  releases.add(release);
  return { redisUrl: vars.REDIS_URL!, rabbitUrl: vars.RABBITMQ_URL!, release };
}

/** Tracks `child` until it exits, so a signal to the probe stops it too. */
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** One service process; its log goes to a file. */
export interface BenchProcess {
  child: ChildProcess;
  log: string;
  /**
   * Peak (VmHWM) and current (VmRSS) resident memory in MB, the current RSS split into anonymous
   * and file-backed pages, and the proportional set size (PSS: pages shared with other
   * processes, such as the node binary's, divided among them).
   */
  memory(): { peakMb: number; rssMb: number; anonMb: number; fileMb: number; pssMb: number };
  stop(): Promise<void>;
}

function memoryOf(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  return {
    peakMb: kb("VmHWM") / 1024,
    rssMb: kb("VmRSS") / 1024,
    anonMb: kb("RssAnon") / 1024,
    fileMb: kb("RssFile") / 1024,
    pssMb: pss / 1024,
  };
}

async function start(entry: string, env: Record<string, string>, logDir: string, ready: string): Promise<BenchProcess> {
  const log = join(logDir, `${entry.replace(/\W+/g, "-")}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`);
  const fd = openSync(log, "w");
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=bench-results/prof", profiles the services;
  // BENCH_WEB_ARGS and BENCH_WORKER_ARGS add options to one kind of process (tried after the others).
  const own = entry.startsWith("app/") ? process.env.BENCH_WEB_ARGS : process.env.BENCH_WORKER_ARGS;
  const nodeArgs = `${process.env.BENCH_NODE_ARGS ?? ""} ${own ?? ""}`.split(" ").filter(Boolean);
  const child = track(
    spawn(process.execPath, [...runtimeFlags(entry), ...nodeArgs, compiledEntry(entry)], {
      env: { ...process.env, ...env },
      stdio: ["ignore", fd, fd],
    }),
  );
  let stopping = false;
  const exited = new Promise<void>((r) =>
    child.once("exit", (code, signal) => {
      // A web or worker that dies under the load would leave the probe waiting for jobs for ever.
      if (!stopping) {
        console.error(`${entry} exited on its own (${signal ?? `code ${code}`}); its log: ${log}`);
        process.exit(1);
      }
      r();
    }),
  );
  await waitFor(() => readFileSync(log, "utf8").includes(`"msg":"${ready}"`), {
    timeoutMs: 30_000,
    what: `${entry} ready`,
  });
  return {
    child,
    log,
    memory: () => memoryOf(child.pid!),
    async stop() {
      stopping = true;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** A web process and `workers` workers in a fresh namespace. */
export async function startBenchStack(opts: {
  redisUrl: string;
  rabbitUrl: string;
  workers: number;
  env?: Record<string, string>;
}) {
  const ns = `bench-${Math.random().toString(36).slice(2, 8)}`;
  const logDir = join("bench-results", "logs");
  mkdirSync(logDir, { recursive: true });
  const port = await freePort();
  const env = {
    RABBITMQ_URL: opts.rabbitUrl,
    REDIS_URL: opts.redisUrl,
    IRIS_NAMESPACE: ns,
    RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-bench-")),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "info",
    ...opts.env,
  };
  const web = await start("app/main.ts", env, logDir, "web ready");
  const workers = await Promise.all(
    Array.from({ length: opts.workers }, () => start("tasks/main.ts", env, logDir, "worker ready")),
  );
  return {
    ns,
    base: `http://127.0.0.1:${port}`,
    web,
    workers,
    async stop() {
      await Promise.all([web, ...workers].map((p) => p.stop()));
    },
  };
}

/** A bare Koa endpoint in its own process, the yardstick for synchronous predict. */
export async function startBareKoa(
  bare: "plain" | "status" = "plain",
): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, ["--import", "tsx", "scripts/bench/bare-koa.ts"], {
      env: { ...process.env, PORT: String(port), BARE: bare },
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    url: `http://127.0.0.1:${port}/bare`,
    pid: child.pid!,
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
