import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { JobMessage } from "../../tasks/contract.js";
import type { Delivery, JobQueue, Outcome } from "../../tasks/queue/types.js";
import { waitFor } from "../helpers/wait-for.js";

/** A valid job message. */
export function newMessage(): JobMessage {
  return {
    jobid: randomUUID(),
    input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    submitted_at: new Date().toISOString(),
  };
}

/** A queue under test plus how to read its dead letters. */
export interface QueueUnderTest {
  queue: JobQueue;
  deadLetters(): Promise<Buffer[]>;
  dispose(): Promise<void>;
}

/** The JobQueue contract; `make(maxAttempts)` builds a fresh, empty queue. */
export function describeJobQueue(name: string, make: (maxAttempts: number) => Promise<QueueUnderTest>): void {
  describe(`JobQueue contract: ${name}`, () => {
    it("delivers every published message once, acked, in order of publication", async () => {
      const t = await make(3);
      try {
        const sent = Array.from({ length: 20 }, newMessage);
        for (const m of sent) await t.queue.publish(m);
        const got: string[] = [];
        const consumer = await t.queue.consume(
          async (d) => {
            got.push(JSON.parse(d.body.toString()).jobid);
            return "ack";
          },
          { concurrency: 1 },
        );
        await waitFor(() => got.length === sent.length, { what: "all deliveries" });
        await consumer.stop();
        assert.deepEqual(got, sent.map((m) => m.jobid));
        assert.equal((await t.queue.stats()).messages, 0);
      } finally {
        await t.dispose();
      }
    });

    it("counts waiting messages and attached consumers", async () => {
      const t = await make(3);
      try {
        for (let i = 0; i < 3; i++) await t.queue.publish(newMessage());
        await waitFor(async () => (await t.queue.stats()).messages === 3, { what: "depth 3" });
        const consumer = await t.queue.consume(async () => "ack", { concurrency: 1 });
        await waitFor(async () => (await t.queue.stats()).messages === 0, { what: "drained" });
        assert.equal((await t.queue.stats()).consumers, 1);
        await consumer.stop();
      } finally {
        await t.dispose();
      }
    });

    it("never runs more than `concurrency` deliveries at once", async () => {
      const t = await make(3);
      try {
        for (let i = 0; i < 12; i++) await t.queue.publish(newMessage());
        let running = 0;
        let peak = 0;
        let done = 0;
        const consumer = await t.queue.consume(
          async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setImmediate(r));
            running--;
            done++;
            return "ack";
          },
          { concurrency: 3 },
        );
        await waitFor(() => done === 12, { what: "12 jobs" });
        await consumer.stop();
        assert.ok(peak <= 3, `peak ${peak} exceeds concurrency`);
      } finally {
        await t.dispose();
      }
    });

    it("redelivers on retry with a growing attempt number, then dead-letters past the limit", async () => {
      const t = await make(2);
      try {
        const msg = newMessage();
        await t.queue.publish(msg);
        const attempts: number[] = [];
        const consumer = await t.queue.consume(
          async (d: Delivery): Promise<Outcome> => {
            attempts.push(d.attempt);
            return "retry";
          },
          { concurrency: 1 },
        );
        const dead = await waitFor(async () => {
          const letters = await t.deadLetters();
          return letters.length === 1 ? letters : null;
        }, { what: "dead letter" });
        await consumer.stop();
        assert.equal(JSON.parse(dead[0]!.toString()).jobid, msg.jobid);
        assert.deepEqual(attempts.slice(0, 3), [1, 2, 3]);
      } finally {
        await t.dispose();
      }
    });

    it("dead-letters at once when told to", async () => {
      const t = await make(5);
      try {
        const msg = newMessage();
        await t.queue.publish(msg);
        let calls = 0;
        const consumer = await t.queue.consume(
          async () => {
            calls++;
            return "dead";
          },
          { concurrency: 1 },
        );
        await waitFor(async () => (await t.deadLetters()).length === 1, { what: "dead letter" });
        await consumer.stop();
        assert.equal(calls, 1);
      } finally {
        await t.dispose();
      }
    });

    it("acks that finish together never settle a delivery still running below them", async () => {
      const t = await make(3);
      try {
        const sent = Array.from({ length: 4 }, newMessage);
        for (const m of sent) await t.queue.publish(m);
        const attempts = new Map<string, number[]>();
        let releaseFirst!: (o: Outcome) => void;
        const first = new Promise<Outcome>((r) => (releaseFirst = r));
        let releaseRest!: () => void;
        const rest = new Promise<void>((r) => (releaseRest = r));
        const consumer = await t.queue.consume(
          async ({ body, attempt }) => {
            const id = (JSON.parse(body.toString()) as JobMessage).jobid;
            attempts.set(id, [...(attempts.get(id) ?? []), attempt]);
            if (id === sent[0]!.jobid) return attempt === 1 ? first : "ack";
            await rest;
            return "ack";
          },
          { concurrency: 4 },
        );
        await waitFor(() => attempts.size === 4, { what: "all four delivered" });
        // The three later ones finish in one turn; their acks go out at the end of it.
        releaseRest();
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        // Then the first, still unsettled, is retried: it must come back (an ack covering it
        // would have removed it, and the nack of a settled delivery closes the channel).
        releaseFirst("retry");
        await waitFor(() => attempts.get(sent[0]!.jobid)?.length === 2, { what: "the first delivered again" });
        await consumer.stop();
        assert.deepEqual(attempts.get(sent[0]!.jobid), [1, 2]);
        for (const m of sent.slice(1)) assert.deepEqual(attempts.get(m.jobid), [1], "acked once, not redelivered");
        assert.deepEqual(await t.deadLetters(), []);
        assert.equal((await t.queue.stats()).messages, 0);
      } finally {
        await t.dispose();
      }
    });

    it("stop() waits for deliveries in hand and takes no more", async () => {
      const t = await make(3);
      try {
        for (let i = 0; i < 5; i++) await t.queue.publish(newMessage());
        let finished = 0;
        let started = 0;
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const consumer = await t.queue.consume(
          async () => {
            started++;
            await gate;
            finished++;
            return "ack";
          },
          { concurrency: 1 },
        );
        await waitFor(() => started === 1, { what: "first delivery" });
        const stopping = consumer.stop();
        release();
        await stopping;
        assert.equal(finished, started, "every started delivery finished before stop() resolved");
        await waitFor(async () => (await t.queue.stats()).messages === 5 - finished, { what: "rest still queued" });
      } finally {
        await t.dispose();
      }
    });
  });
}
