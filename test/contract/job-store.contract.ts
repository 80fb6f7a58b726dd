import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { JobRecord, JobStore } from "../../tasks/store/types.js";
import { waitFor } from "../helpers/wait-for.js";

/** A fresh PENDING record. */
export function newRecord(overrides: Partial<JobRecord> = {}): JobRecord {
  const at = new Date().toISOString();
  return {
    jobid: randomUUID(),
    state: "PENDING",
    progress: 0,
    stage: "queued",
    input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    attempts: 0,
    created_at: at,
    updated_at: at,
    ...overrides,
  };
}

/** How a contract run builds a store: the record TTL, and optionally the tombstone's lifetime. */
export type MakeStore = (ttlSeconds: number, opts?: { tombstoneSeconds?: number }) => Promise<JobStore>;

/** What a contract run can do to a store's change feed; a feed that cannot fail (memory) has none. */
export interface FeedFaults {
  /** Drops the feed's connection (it reconnects by itself); changes made meanwhile are not heard. */
  drop(store: JobStore): void;
}

/**
 * The JobStore contract; run once per implementation. `make(ttlSeconds)` builds a fresh store;
 * `faults`, when the feed can fail, lets the contract check what the feed says about it.
 */
export function describeJobStore(name: string, make: MakeStore, faults?: FeedFaults): void {
  describe(`JobStore contract: ${name}`, () => {
    let store: JobStore;
    before(async () => {
      store = await make(60);
    });
    after(async () => {
      await store.close();
    });

    it("creates and reads back a record with typed fields", async () => {
      const rec = newRecord();
      await store.create(rec);
      const got = await store.get(rec.jobid);
      assert.deepEqual(got, rec);
      assert.equal(typeof got!.progress, "number");
    });

    it("returns null for an unknown job and does not call it expired", async () => {
      const id = randomUUID();
      assert.equal(await store.get(id), null);
      assert.equal(await store.wasExpired(id), false);
      assert.equal(await store.update(id, { progress: 0.5 }), null);
    });

    it("applies updates, keeps progress monotonic, and keeps the stage with it", async () => {
      const rec = newRecord();
      await store.create(rec);
      let out = await store.update(rec.jobid, { state: "PROGRESS", stage: "rendering", progress: 0.6 });
      assert.equal(out!.applied, true);
      assert.equal(out!.record.progress, 0.6);
      out = await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 2 });
      assert.equal(out!.record.progress, 0.6, "progress must not go backwards");
      assert.equal(out!.record.stage, "rendering");
      assert.equal(out!.record.attempts, 2, "other fields still apply");
    });

    it("applies several updates in order in one call, each published, with the same rules", async () => {
      const rec = newRecord();
      await store.create(rec);
      const seen: Array<[string, number]> = [];
      const unsubscribe = await store.subscribe((r) => {
        if (r.jobid === rec.jobid) seen.push([r.stage, r.progress]);
      });
      try {
        const outcomes = await store.updateMany(rec.jobid, [
          { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 },
          { state: "PROGRESS", stage: "classifying", progress: 0.3 },
          { state: "SUCCESS", stage: "done", progress: 1 },
          { state: "PROGRESS", stage: "rendering", progress: 0.6 },
        ]);
        assert.deepEqual(
          outcomes.map((o) => [o!.applied, o!.record.stage]),
          [
            [true, "validating"],
            [true, "classifying"],
            [true, "done"],
            [false, "done"],
          ],
        );
        await waitFor(() => seen.length >= 3, { what: "three change events" });
        assert.deepEqual(seen, [
          ["validating", 0.1],
          ["classifying", 0.3],
          ["done", 1],
        ]);
        assert.deepEqual(await store.updateMany(randomUUID(), [{ progress: 0.5 }]), [null]);
      } finally {
        await unsubscribe();
      }
    });

    it("writes the final state once: first writer wins", async () => {
      const rec = newRecord();
      await store.create(rec);
      const first = await store.update(rec.jobid, {
        state: "SUCCESS",
        stage: "done",
        progress: 1,
        result: "setosa",
        probabilities: { setosa: 1, versicolor: 0, virginica: 0 },
      });
      assert.equal(first!.applied, true);
      const second = await store.update(rec.jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "late" });
      assert.equal(second!.applied, false);
      assert.equal(second!.record.state, "SUCCESS");
      const got = await store.get(rec.jobid);
      assert.equal(got!.state, "SUCCESS");
      assert.deepEqual(got!.probabilities, { setosa: 1, versicolor: 0, virginica: 0 });
      assert.equal(got!.error, undefined);
    });

    it("notifies subscribers of every applied change, and only those", async () => {
      const rec = newRecord();
      await store.create(rec);
      const seen: JobRecord[] = [];
      const unsubscribe = await store.subscribe((r) => {
        if (r.jobid === rec.jobid) seen.push(r);
      });
      try {
        await store.update(rec.jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 });
        await store.update(rec.jobid, { state: "SUCCESS", stage: "done", progress: 1, result: "setosa" });
        await store.update(rec.jobid, { state: "FAILURE", stage: "failed", progress: 1 }); // refused: no event
        await waitFor(() => seen.length >= 2, { what: "two change events" });
        assert.deepEqual(
          seen.map((r) => [r.state, r.progress]),
          [
            ["PROGRESS", 0.3],
            ["SUCCESS", 1],
          ],
        );
      } finally {
        await unsubscribe();
      }
    });

    it("counts each applied change in the record's revision, on reads and on the feed alike", async () => {
      const rec = newRecord();
      await store.create(rec);
      assert.equal((await store.get(rec.jobid))!.revision, undefined, "a new record has had no change");
      const heard: JobRecord[] = [];
      const unsubscribe = await store.subscribe((r) => {
        if (r.jobid === rec.jobid) heard.push(r);
      });
      try {
        const a = await store.update(rec.jobid, { state: "PROGRESS", stage: "validating", progress: 0.1 });
        const b = await store.update(rec.jobid, { attempts: 2 }); // invisible to clients, still a change
        const [c, d] = await store.updateMany(rec.jobid, [
          { state: "SUCCESS", stage: "done", progress: 1, result: "setosa" },
          { state: "FAILURE", stage: "failed", progress: 1 }, // refused: no change
        ]);
        assert.deepEqual([a, b, c, d].map((o) => o!.record.revision), [1, 2, 3, 3]);
        assert.equal((await store.get(rec.jobid))!.revision, 3);
        await waitFor(() => heard.length >= 3, { what: "three change events" });
        assert.deepEqual(heard.map((r) => r.revision), [1, 2, 3]);
      } finally {
        await unsubscribe();
      }
    });

    it("reports no gap in a healthy feed", async () => {
      const rec = newRecord();
      await store.create(rec);
      let gaps = 0;
      const heard: number[] = [];
      const unsubscribe = await store.subscribe((r) => void (r.jobid === rec.jobid && heard.push(r.progress)), {
        onGap: () => gaps++,
      });
      try {
        for (const progress of [0.1, 0.3, 0.6, 0.9]) await store.update(rec.jobid, { state: "PROGRESS", progress });
        await waitFor(() => heard.length === 4, { what: "four change events" });
        assert.equal(gaps, 0);
      } finally {
        await unsubscribe();
      }
    });

    // Only for a store whose feed can drop (the memory store's cannot): not registered otherwise.
    if (faults) it(
      "reports a gap when the feed drops and resumes once it is live again",
      async () => {
        const rec = newRecord();
        await store.create(rec);
        const events: string[] = [];
        const heard: number[] = [];
        const unsubscribe = await store.subscribe((r) => void (r.jobid === rec.jobid && heard.push(r.progress)), {
          onGap: () => events.push("gap"),
          onResume: () => events.push("resume"),
        });
        try {
          faults!.drop(store);
          await waitFor(() => events.includes("gap"), { what: "the gap to be reported" });
          await waitFor(() => events.includes("resume"), { what: "the feed to resume" });
          assert.deepEqual(events, ["gap", "resume"]);
          await store.update(rec.jobid, { state: "PROGRESS", progress: 0.3 });
          await waitFor(() => heard.includes(0.3), { what: "a change after the resume to be heard" });
        } finally {
          await unsubscribe();
        }
      },
    );

    it("keeps a batch's rows beside the job and reads them back exactly", async () => {
      const rec = newRecord({ input: undefined, batch_size: 3 });
      await store.create(rec);
      assert.equal(await store.getBatchResults(rec.jobid), null);
      const results = {
        classes: ["setosa", "versicolor", "virginica"],
        rows: [
          [5.1, 3.5, 1.4, 0.2, 0, 1, 0, 0],
          [6, 2.9, 4.5, 1.5, 1, 0, 0.94, 0.06],
          [6.7, 3, 5.8, 2.2, 2, 0, 0.02, 0.98],
        ],
      };
      await store.saveBatchResults(rec.jobid, results);
      assert.deepEqual(await store.getBatchResults(rec.jobid), results);
      const done = await store.update(rec.jobid, {
        state: "SUCCESS",
        stage: "done",
        progress: 1,
        summary: { setosa: 1, versicolor: 1, virginica: 1 },
      });
      assert.deepEqual(done!.record.summary, { setosa: 1, versicolor: 1, virginica: 1 });
      const got = await store.get(rec.jobid);
      assert.equal(got!.batch_size, 3);
      assert.equal(got!.input, undefined);
      assert.deepEqual(got!.summary, { setosa: 1, versicolor: 1, virginica: 1 });
    });

    it("claims an idempotency key once; the holder's value comes back to every later claim", async () => {
      const key = `key-${randomUUID()}`;
      const [a, b] = [randomUUID(), randomUUID()];
      assert.equal(await store.claimIdempotencyKey(key, a), null, "the first claim wins");
      assert.equal(await store.claimIdempotencyKey(key, b), a);
      assert.equal(await store.claimIdempotencyKey(key, b), a);
      // Concurrent claims of a fresh key: exactly one wins, all see the winner.
      const fresh = `key-${randomUUID()}`;
      const values = Array.from({ length: 10 }, () => randomUUID());
      const outcomes = await Promise.all(values.map((v) => store.claimIdempotencyKey(fresh, v)));
      const winners = values.filter((_, i) => outcomes[i] === null);
      assert.equal(winners.length, 1);
      for (const [i, o] of outcomes.entries()) if (o !== null) assert.equal(o, winners[0], `claim ${i}`);
    });

    it("releases a key only for its holder", async () => {
      const key = `key-${randomUUID()}`;
      const [a, b] = [randomUUID(), randomUUID()];
      await store.claimIdempotencyKey(key, a);
      await store.releaseIdempotencyKey(key, b);
      assert.equal(await store.claimIdempotencyKey(key, b), a, "someone else's release is a no-op");
      await store.releaseIdempotencyKey(key, a);
      assert.equal(await store.claimIdempotencyKey(key, b), null, "free again after its holder released it");
    });

    it("confirms a claim (held for a short time) for the retention period, only while it holds the confirmer's value", async () => {
      const s = await make(3);
      try {
        const [confirmed, abandoned] = [`key-${randomUUID()}`, `key-${randomUUID()}`];
        assert.equal(await s.claimIdempotencyKey(confirmed, "pending a", { ttlSeconds: 1 }), null);
        assert.equal(await s.claimIdempotencyKey(abandoned, "pending b", { ttlSeconds: 1 }), null);
        assert.equal(await s.confirmIdempotencyKey(confirmed, "pending z", "done z"), false, "not the holder: no-op");
        assert.equal(await s.claimIdempotencyKey(confirmed, "x"), "pending a");
        assert.equal(await s.confirmIdempotencyKey(confirmed, "pending a", "done a"), true);
        assert.equal(await s.claimIdempotencyKey(confirmed, "x"), "done a");
        assert.equal(
          await s.confirmIdempotencyKey(`key-${randomUUID()}`, "pending a", "done a"),
          false,
          "no claim: no-op",
        );
        assert.equal(await s.claimIdempotencyKey(`key-${randomUUID()}`, "ok", { ttlSeconds: 1 }), null);
        // The short claim that was never confirmed expires by itself (a web process that crashed
        // mid-submission); the confirmed one lives on for the retention period.
        await waitFor(async () => (await s.claimIdempotencyKey(abandoned, "next", { ttlSeconds: 1 })) === null, {
          timeoutMs: 5000,
          what: "the unconfirmed claim to expire",
        });
        assert.equal(await s.claimIdempotencyKey(confirmed, "x"), "done a");
        assert.equal(
          await s.confirmIdempotencyKey(abandoned, "pending b", "done b"),
          false,
          "an expired claim is not ours any more",
        );
      } finally {
        await s.close();
      }
    });

    it("treats keys as opaque strings of any length and bytes", async () => {
      const odd = ["", " ", "\u0000\n\r", "x".repeat(10_000), "__proto__", "constructor", "ключ🔑"];
      for (const key of odd) {
        const v = randomUUID();
        const first = await store.claimIdempotencyKey(`${key}-${v}`, v);
        assert.equal(first, null, JSON.stringify(key.slice(0, 20)));
        assert.equal(await store.claimIdempotencyKey(`${key}-${v}`, "other"), v);
      }
    });

    it("lists the most recent jobs newest first, with their current state, up to the limit", async () => {
      const base = Date.now() + 60_000; // newer than every other record in this store
      const recs = [0, 1, 2].map((i) => newRecord({ created_at: new Date(base + i * 1000).toISOString() }));
      for (const rec of recs) await store.create(rec);
      await store.update(recs[1]!.jobid, { state: "PROGRESS", stage: "rendering", progress: 0.6 });
      const two = await store.recent(2);
      assert.deepEqual(
        two.map((r) => r.jobid),
        [recs[2]!.jobid, recs[1]!.jobid],
      );
      assert.equal(two[1]!.state, "PROGRESS", "records come back as they are now");
      assert.equal(two[1]!.progress, 0.6);
      assert.deepEqual(two[0]!.input, recs[2]!.input, "typed fields decoded");
      const three = await store.recent(3);
      assert.deepEqual(
        three.map((r) => r.jobid),
        recs.map((r) => r.jobid).reverse(),
      );
      assert.deepEqual(await store.recent(0), []);
    });

    it("forgets a job after its TTL and then reports it as expired", async () => {
      const short = await make(1);
      try {
        const rec = newRecord();
        await short.create(rec);
        assert.ok(await short.get(rec.jobid));
        assert.deepEqual((await short.recent(10)).map((r) => r.jobid), [rec.jobid]);
        await short.saveBatchResults(rec.jobid, { classes: ["setosa"], rows: [[1, 1, 1, 1, 0, 1]] });
        await short.claimIdempotencyKey(`k-${rec.jobid}`, rec.jobid);
        await short.claimIdempotencyKey(`long-${rec.jobid}`, rec.jobid, { ttlSeconds: 3600 });
        await waitFor(async () => (await short.get(rec.jobid)) === null, { timeoutMs: 5000, what: "expiry" });
        assert.equal(await short.wasExpired(rec.jobid), true);
        await waitFor(async () => (await short.getBatchResults(rec.jobid)) === null, { timeoutMs: 5000, what: "rows expiry" });
        await waitFor(async () => (await short.claimIdempotencyKey(`k-${rec.jobid}`, "next")) === null, {
          timeoutMs: 5000,
          what: "key expiry",
        });
        await waitFor(async () => (await short.claimIdempotencyKey(`long-${rec.jobid}`, "next")) === null, {
          timeoutMs: 5000,
          what: "no claim outlives the retention period",
        });
        assert.deepEqual(await short.recent(10), [], "an expired job drops out of the recent list");
      } finally {
        await short.close();
      }
    });

    it("answers expired (410) while the tombstone lives, and unknown (404) after it", async () => {
      const short = await make(1, { tombstoneSeconds: 2 });
      try {
        const rec = newRecord();
        await short.create(rec);
        assert.equal(await short.wasExpired(rec.jobid), false, "a live job is not expired");
        await waitFor(async () => (await short.get(rec.jobid)) === null, { timeoutMs: 5000, what: "record expiry" });
        assert.equal(await short.wasExpired(rec.jobid), true, "gone, but known to have existed");
        await waitFor(async () => !(await short.wasExpired(rec.jobid)), { timeoutMs: 5000, what: "tombstone expiry" });
        assert.equal(await short.get(rec.jobid), null);
        assert.equal(await short.update(rec.jobid, { progress: 0.5 }), null, "as unknown as a job that never was");
      } finally {
        await short.close();
      }
    });
  });
}
