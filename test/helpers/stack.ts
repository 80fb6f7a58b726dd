import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort, startProcess, type ServiceProcess } from "./processes.js";
import { deleteQueues, realServices, uniqueName } from "./services.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** A typical setosa as form fields. */
export const SETOSA_FORM = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

/** Web processes and worker processes on the real services, in their own namespace. */
export interface Stack {
  /** Base URL of the first web process. */
  base: string;
  /** Base URL of each web process, in start order. */
  webs: string[];
  ns: string;
  resultsDir: string;
  /** The environment the processes were started with (PORT is per web process). */
  env: Record<string, string>;
  web: ServiceProcess;
  webProcs: ServiceProcess[];
  workers: ServiceProcess[];
  /** The same array as `workers`. */
  workerProcs: ServiceProcess[];
  addWorker(env?: Record<string, string>): Promise<ServiceProcess>;
  /** Form submission; returns the response (redirect not followed). */
  submit(fields?: Record<string, string>): Promise<Response>;
  /** Submits and returns the job id; throws unless 303. */
  submitOk(fields?: Record<string, string>): Promise<string>;
  progress(jobid: string): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Waits until every job is final; returns state counts. */
  waitAllFinal(ids: string[], timeoutMs?: number): Promise<Record<string, number>>;
  pdfs(): string[];
  /** Stops every process with SIGTERM, deletes the queues; resolves with the exit codes (null if killed). */
  stop(): Promise<Array<number | null>>;
}

/** Starts the stack (`webs` web processes, default 1). `env` overrides the processes' environment. */
export async function startStack(opts: {
  workers: number;
  webs?: number;
  kind?: string;
  env?: Record<string, string>;
}): Promise<Stack> {
  const { redisUrl, rabbitUrl } = realServices();
  const ns = uniqueName(opts.kind ?? "ns");
  const resultsDir = mkdtempSync(join(tmpdir(), `iris-${opts.kind ?? "stack"}-`));
  const env: Record<string, string> = {
    RABBITMQ_URL: rabbitUrl,
    REDIS_URL: redisUrl,
    IRIS_NAMESPACE: ns,
    RESULTS_DIR: resultsDir,
    HOST: "127.0.0.1",
    ...opts.env,
  };
  const webProcs: ServiceProcess[] = [];
  const webs: string[] = [];
  const workers: ServiceProcess[] = [];
  const stop = async () => {
    const codes = await Promise.all([...webProcs, ...workers].map((p) => p.stop("SIGTERM")));
    await deleteQueues(`${ns}.jobs`);
    return codes;
  };
  const addWorker = async (extra: Record<string, string> = {}) => {
    const w = await startProcess("tasks/main.ts", { ...env, ...extra }, { readyMsg: "worker ready" });
    workers.push(w);
    return w;
  };
  try {
    for (let i = 0; i < (opts.webs ?? 1); i++) {
      const port = await freePort();
      webProcs.push(await startProcess("app/main.ts", { ...env, PORT: String(port) }, { readyMsg: "web ready" }));
      webs.push(`http://127.0.0.1:${port}`);
    }
    await Promise.all(Array.from({ length: opts.workers }, () => addWorker()));
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
  const base = webs[0]!;

  const submit = (fields: Record<string, string> = SETOSA_FORM) =>
    fetch(`${base}/predict`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" });
  const progress = async (jobid: string) => {
    const res = await fetch(`${base}/progress?jobid=${jobid}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return {
    base,
    webs,
    ns,
    resultsDir,
    env,
    web: webProcs[0]!,
    webProcs,
    workers,
    workerProcs: workers,
    addWorker,
    submit,
    async submitOk(fields) {
      const res = await submit(fields);
      if (res.status !== 303) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
      return res.headers.get("location")!.split("/").pop()!;
    },
    progress,
    async waitAllFinal(ids, timeoutMs = 60_000) {
      const final = new Map<string, string>();
      await waitFor(
        async () => {
          for (const id of ids) {
            if (final.has(id)) continue;
            const { body } = await progress(id);
            if (["SUCCESS", "FAILURE", "REVOKED"].includes(body.state as string)) final.set(id, body.state as string);
          }
          return final.size === ids.length;
        },
        { timeoutMs, intervalMs: 100, what: `${ids.length} jobs to finish (${final.size} so far)` },
      );
      const counts: Record<string, number> = {};
      for (const s of final.values()) counts[s] = (counts[s] ?? 0) + 1;
      return counts;
    },
    pdfs: () => readdirSync(resultsDir).filter((f) => f.endsWith(".pdf")),
    stop,
  };
}

/** Jobs a worker process finished, from its log. */
export function succeededBy(p: ServiceProcess): string[] {
  return p
    .logs()
    .filter((l) => l.msg === "job succeeded")
    .map((l) => l.jobId as string);
}

/** rabbitmqctl against the test broker (its node name comes from scripts/test-services.sh). */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const node = process.env.TEST_RABBITMQ_NODE;
  const { stdout } = await run("rabbitmqctl", [...(node ? ["-n", node] : []), ...args], { timeout: 60_000 });
  return stdout;
}
