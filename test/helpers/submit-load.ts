import assert from "node:assert/strict";
import { setTimeout as backoff } from "node:timers/promises";

/** How long a submitter waits after a 503 before it sends the next submission. */
const REFUSED_BACKOFF_MS = 50;

/** A steady stream of async JSON-API submissions, for fault tests that break something under load. */
export interface SubmitLoad {
  /** Each accepted job (202), with when its submission was sent. */
  accepted: Array<{ id: string; at: number }>;
  /** How many answers of each status. */
  answers: Record<string, number>;
  /** When the last refused (503) submission was sent; 0 if none. */
  lastRefusedAt(): number;
  /** The body of the last refusal (what the service said), for a failing test's message. */
  lastRefusal(): unknown;
  /** Stops submitting; resolves once every submitter has had its last answer (rejects on a bad one). */
  stop(): Promise<void>;
}

/**
 * Starts `submitters` clients that each post `input` to `${base}/predict` (Async-Mode) one after
 * another until stopped. Any answer but 202 or 503 fails the load (stop() rejects with it).
 */
export function startSubmitLoad(base: string, input: Record<string, number>, submitters = 4): SubmitLoad {
  const accepted: Array<{ id: string; at: number }> = [];
  const answers: Record<string, number> = {};
  let stopped = false;
  let lastRefusedAt = 0;
  let lastRefusal: unknown = null;
  const submitter = async () => {
    while (!stopped) {
      const sentAt = Date.now();
      const res = await fetch(`${base}/predict`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Async-Mode": "true" },
        body: JSON.stringify({ input }),
        signal: AbortSignal.timeout(10_000),
      });
      answers[res.status] = (answers[res.status] ?? 0) + 1;
      const body = (await res.json()) as { prediction_id?: string };
      if (res.status === 202) accepted.push({ id: body.prediction_id!, at: sentAt });
      else {
        assert.equal(res.status, 503, `a submission answered ${res.status}: ${JSON.stringify(body)}`);
        lastRefusedAt = Math.max(lastRefusedAt, sentAt);
        lastRefusal = body;
        // A client's backoff after a 503, as Retry-After asks of real clients: refusals answered in
        // a millisecond must not spin both cores, which the brokers' own recovery needs too.
        await backoff(REFUSED_BACKOFF_MS);
      }
    }
  };
  const running = Promise.all(Array.from({ length: submitters }, submitter));
  running.catch(() => {}); // surfaced by stop()
  return {
    accepted,
    answers,
    lastRefusedAt: () => lastRefusedAt,
    lastRefusal: () => lastRefusal,
    async stop() {
      stopped = true;
      await running;
    },
  };
}
