// The benchmark's client: submits jobs over the JSON API, follows them over socket.io, fetches
// and checks every PDF. Also measures socket event latency against the store's own Redis feed.
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";

const INPUT = { input: { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 } };
const FINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

interface ProgressEvent {
  jobid: string;
  state: string;
  progress: number;
}

/** A kept-alive HTTP exchange with node:http (lighter on this shared CPU than fetch). */
function http(
  agent: Agent,
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** One socket that follows many jobs in turn. */
class Follower {
  private waiting = new Map<string, (e: ProgressEvent) => void>();
  readonly received: Array<{ key: string; at: number }> = [];
  private constructor(readonly socket: Socket) {
    socket.on("progress", (e: ProgressEvent) => {
      this.received.push({ key: `${e.jobid}:${e.state}:${e.progress}`, at: performance.now() });
      if (FINAL.has(e.state)) this.waiting.get(e.jobid)?.(e);
    });
  }

  static async connect(base: string): Promise<Follower> {
    const socket = io(base, { transports: ["websocket"], reconnection: false });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
    });
    return new Follower(socket);
  }

  /** Subscribes and resolves with the final event. */
  until(jobid: string): Promise<ProgressEvent> {
    return new Promise((resolve, reject) => {
      this.waiting.set(jobid, (e) => {
        this.waiting.delete(jobid);
        this.socket.emit("unsubscribe", { jobid });
        resolve(e);
      });
      this.socket.emit("subscribe", { jobid }, (ack: { ok: boolean; error?: string }) => {
        if (!ack.ok) reject(new Error(ack.error));
      });
    });
  }

  close() {
    this.socket.close();
  }
}

/** Result of one load run. */
export interface RunResult {
  jobs: number;
  succeeded: number;
  failed: number;
  seconds: number;
  jobsPerSec: number;
  latencyMs: number[];
  socketLatencyMs: number[];
  /** Per job, in this process's clock: submitted, answered 202, final socket event. */
  marks: Array<{ id: string; submitted: number; accepted: number; final: number }>;
  /** When each store change ("jobid:state:progress") was heard on the Redis feed. */
  published: Map<string, number>;
}

/**
 * Keeps `inFlight` jobs going until `total` are done: submit (Async-Mode) → wait for the final
 * socket event → GET the PDF and check it. Latency is submit → final event.
 */
export async function runLoad(opts: {
  base: string;
  redisUrl: string;
  ns: string;
  total: number;
  inFlight: number;
}): Promise<RunResult> {
  const followers = await Promise.all(Array.from({ length: opts.inFlight }, () => Follower.connect(opts.base)));
  // The store's change feed, heard in this same process: the reference clock for socket latency.
  const feed = new Redis(opts.redisUrl);
  const published = new Map<string, number>();
  feed.on("message", (_ch: string, payload: string) => {
    const flat = JSON.parse(payload) as string[];
    const rec: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) rec[flat[i]!] = flat[i + 1]!;
    published.set(`${rec.jobid}:${rec.state}:${Number(rec.progress)}`, performance.now());
  });
  await feed.subscribe(`${opts.ns}:events`);

  const agent = new Agent({ keepAlive: true, maxSockets: opts.inFlight });
  const body = JSON.stringify(INPUT);
  let next = 0;
  let succeeded = 0;
  let failed = 0;
  const latencyMs: number[] = [];
  const marks: RunResult["marks"] = [];
  const started = performance.now();
  await Promise.all(
    followers.map(async (f) => {
      while (next < opts.total) {
        next++;
        const t0 = performance.now();
        const res = await http(agent, `${opts.base}/predict`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "async-mode": "true",
            "content-length": String(Buffer.byteLength(body)),
          },
          body,
        });
        if (res.status !== 202) {
          failed++;
          continue;
        }
        const { prediction_id: id } = JSON.parse(res.body.toString("utf8")) as { prediction_id: string };
        const accepted = performance.now();
        const final = await f.until(id);
        const t1 = performance.now();
        latencyMs.push(t1 - t0);
        marks.push({ id, submitted: t0, accepted, final: t1 });
        if (final.state !== "SUCCESS") {
          failed++;
          continue;
        }
        const pdf = await http(agent, `${opts.base}/result?jobid=${id}`);
        const bytes = pdf.body;
        const ok =
          pdf.status === 200 &&
          Number(pdf.headers["content-length"]) === bytes.length &&
          bytes.subarray(0, 5).toString() === "%PDF-" &&
          bytes.subarray(-6).toString().includes("%%EOF");
        if (ok) succeeded++;
        else failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const socketLatencyMs: number[] = [];
  for (const f of followers) {
    for (const r of f.received) {
      const at = published.get(r.key);
      if (at !== undefined && r.at >= at) socketLatencyMs.push(r.at - at);
    }
    f.close();
  }
  feed.disconnect();
  agent.destroy();
  return {
    jobs: opts.total,
    succeeded,
    failed,
    seconds,
    jobsPerSec: succeeded / seconds,
    latencyMs,
    socketLatencyMs,
    marks,
    published,
  };
}

/** The p-th percentile (0–100) of `values`. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The median of `values`. */
export const median = (values: number[]) => percentile(values, 50);
