// The benchmark's client: submits jobs over the JSON API, follows them over socket.io (or by
// polling, see pollers.ts), fetches and checks every PDF. Also measures socket event latency
// against the store's own Redis feed.
import { Agent } from "node:http";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { io, type Socket } from "socket.io-client";
import { http } from "./http.js";
import { httpFollower, type ClientKind, type PollStats } from "./pollers.js";

const INPUT = { input: { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 } };
const FINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

interface ProgressEvent {
  jobid: string;
  state: string;
  progress: number;
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
  /** Status requests the HTTP followers made (none for the socket client). */
  poll: PollStats;
}

/**
 * Keeps `inFlight` jobs going until `total` are done: submit (Async-Mode) → wait for the final
 * state (`client`: socket event, default; or polled) → GET the PDF and check it. Latency is
 * submit → final state seen. The Redis feed is heard in every kind, so the client's own CPU is
 * comparable between them.
 */
export async function runLoad(opts: {
  base: string;
  redisUrl: string;
  ns: string;
  total: number;
  inFlight: number;
  client?: ClientKind;
}): Promise<RunResult> {
  const kind = opts.client ?? "socket";
  const agent = new Agent({ keepAlive: true, maxSockets: opts.inFlight });
  const poll: PollStats = { requests: 0, notModified: 0 };
  const followers =
    kind === "socket"
      ? await Promise.all(Array.from({ length: opts.inFlight }, () => Follower.connect(opts.base)))
      : Array.from({ length: opts.inFlight }, () => httpFollower(agent, opts.base, kind, poll));
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
    for (const r of f instanceof Follower ? f.received : []) {
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
    poll,
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
