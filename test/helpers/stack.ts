import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startProcess, type ServiceProcess } from "./processes.js";
import { deleteQueues, realServices, uniqueName } from "./services.js";

/** Web and worker processes on the real services, in their own namespace. */
export interface Stack {
  /** Namespace of this stack's queue and Redis keys. */
  ns: string;
  resultsDir: string;
  /** The environment the processes were started with (without PORT): start more with it. */
  env: Record<string, string>;
  /** Base URL of each web process, in start order. */
  webs: string[];
  webProcs: ServiceProcess[];
  workerProcs: ServiceProcess[];
  /** Stops every process with SIGTERM and resolves with their exit codes; deletes the queues. */
  stop(): Promise<Array<number | null>>;
}

/** Starts `webs` web processes (app/main.ts) and `workers` workers (tasks/main.ts) on RabbitMQ + Redis. */
export async function startStack(opts: { webs: number; workers: number; kind: string; env?: Record<string, string> }): Promise<Stack> {
  const { redisUrl, rabbitUrl } = realServices();
  const ns = uniqueName(opts.kind);
  const resultsDir = mkdtempSync(join(tmpdir(), `iris-${opts.kind}-`));
  const env: Record<string, string> = {
    RABBITMQ_URL: rabbitUrl,
    REDIS_URL: redisUrl,
    IRIS_NAMESPACE: ns,
    RESULTS_DIR: resultsDir,
    HOST: "127.0.0.1",
    ...opts.env,
  };
  const webProcs: ServiceProcess[] = [];
  const workerProcs: ServiceProcess[] = [];
  const webs: string[] = [];
  const stop = async () => {
    const codes = await Promise.all([...webProcs, ...workerProcs].map((p) => p.stop("SIGTERM")));
    await deleteQueues(`${ns}.jobs`);
    return codes;
  };
  try {
    for (let i = 0; i < opts.webs; i++) {
      const port = await freePort();
      webProcs.push(await startProcess("app/main.ts", { ...env, PORT: String(port) }, { readyMsg: "web ready" }));
      webs.push(`http://127.0.0.1:${port}`);
    }
    for (let i = 0; i < opts.workers; i++) {
      workerProcs.push(await startProcess("tasks/main.ts", env, { readyMsg: "worker ready" }));
    }
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  return { ns, resultsDir, env, webs, webProcs, workerProcs, stop };
}
