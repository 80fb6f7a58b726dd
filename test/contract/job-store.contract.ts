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

/** The JobStore contract; run once per implementation. `make(ttlSeconds)` builds a fresh store. */
export function describeJobStore(name: string, make: (ttlSeconds: number) => Promise<JobStore>): void {
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
        await waitFor(async () => (await short.get(rec.jobid)) === null, { timeoutMs: 5000, what: "expiry" });
        assert.equal(await short.wasExpired(rec.jobid), true);
        assert.deepEqual(await short.recent(10), [], "an expired job drops out of the recent list");
      } finally {
        await short.close();
      }
    });
  });
}
