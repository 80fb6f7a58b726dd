// The benchmark's HTTP followers: a job followed by GET /predict/{id}, polled every 20 ms (with or
// without If-None-Match) or long-polled with `Prefer: wait=30` and If-None-Match.
import type { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { http } from "./http.js";

const FINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);

/** How a follower learns that a job has finished. */
export type ClientKind = "socket" | "poll" | "poll-etag" | "long-poll";

/** Status requests a run of HTTP followers made, and how many were answered 304. */
export interface PollStats {
  requests: number;
  notModified: number;
}

/** Follows one job at a time over HTTP until its final state (or an unexpected status, as `HTTP nnn`). */
export function httpFollower(agent: Agent, base: string, kind: Exclude<ClientKind, "socket">, stats: PollStats) {
  const etags = kind !== "poll";
  const headers: Record<string, string> = kind === "long-poll" ? { prefer: "wait=30" } : {};
  return {
    async until(jobid: string): Promise<{ state: string }> {
      let tag: string | undefined;
      for (;;) {
        const res = await http(agent, `${base}/predict/${jobid}`, {
          headers: tag ? { ...headers, "if-none-match": tag } : headers,
        });
        stats.requests++;
        if (res.status === 304) stats.notModified++;
        else if (res.status === 200 || res.status === 202) {
          const { state } = JSON.parse(res.body.toString("utf8")) as { state: string };
          if (FINAL.has(state)) return { state };
          if (etags) tag = res.headers.etag as string | undefined;
        } else return { state: `HTTP ${res.status}` };
        // A naive poller waits its interval after each answer; a long poll asks again at once.
        if (kind !== "long-poll") await sleep(20);
      }
    },
    close() {},
  };
}
