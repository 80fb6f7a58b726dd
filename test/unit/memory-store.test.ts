// The in-memory store's retention, on an injected clock: tombstones live as long as Redis's
// (7 × the TTL by default), and every expired entry is actually removed, so embedded mode's
// memory is bounded by what is live, not by how many jobs it has ever seen.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryStore } from "../../tasks/store/memory.js";
import { withSteppedClock } from "../helpers/stepped-clock.js";
import { waitFor } from "../helpers/wait-for.js";
import { newRecord } from "../contract/job-store.contract.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const rows = { classes: ["setosa"], rows: [[5.1, 3.5, 1.4, 0.2, 0, 1]] };

describe("memory store retention", () => {
  it("answers expired for 7 × the TTL by default, then unknown, like the Redis store", async () => {
    let clock = T0;
    const store = createMemoryStore({ ttlSeconds: 60, now: () => new Date(clock) });
    try {
      const rec = newRecord({ created_at: new Date(clock).toISOString() });
      await store.create(rec);
      clock += 30_000;
      await store.update(rec.jobid, { state: "SUCCESS", stage: "done", progress: 1 }); // TTL restarts
      clock += 60_000 - 1;
      assert.ok(await store.get(rec.jobid), "an update refreshes the record's TTL");
      clock += 1;
      assert.equal(await store.get(rec.jobid), null);
      assert.equal(await store.wasExpired(rec.jobid), true);
      clock = T0 + 7 * 60_000 - 1; // the tombstone's life counts from creation, as in Redis
      assert.equal(await store.wasExpired(rec.jobid), true);
      clock += 1;
      assert.equal(await store.wasExpired(rec.jobid), false, "past the tombstone: never existed (404)");
    } finally {
      await store.close();
    }
  });

  it("removes every expired entry: the store's entry count returns to zero", async () => {
    let clock = T0;
    const store = createMemoryStore({
      ttlSeconds: 60,
      tombstoneSeconds: 120,
      now: () => new Date(clock),
      sweepIntervalMs: 5,
    });
    const wave = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const rec = newRecord({ created_at: new Date(clock).toISOString() });
        await store.claimIdempotencyKey(`key-${rec.jobid}`, rec.jobid);
        await store.create(rec);
        await store.updateMany(rec.jobid, [
          { state: "PROGRESS", stage: "validating", progress: 0.1, attempts: 1 },
          { state: "SUCCESS", stage: "done", progress: 1 },
        ]);
        await store.saveBatchResults(rec.jobid, rows);
        clock += 1;
      }
    };
    try {
      const n = 4000;
      await wave(n);
      assert.deepEqual(store.size(), { jobs: n, tombstones: n, batches: n, idempotencyKeys: n, recentIds: 1000 });
      // A second wave after the first one's TTL: its writes sweep the first wave's expired
      // records as they go, so live entries stay bounded under steady load.
      clock += 60_000;
      await wave(n);
      const mid = store.size();
      assert.ok(mid.jobs <= n + 100, `expired records removed while writing (${mid.jobs} jobs)`);
      assert.ok(mid.batches <= n + 100, `expired batch rows removed while writing (${mid.batches})`);
      assert.ok(mid.idempotencyKeys <= n + 100, `expired keys removed while writing (${mid.idempotencyKeys})`);
      assert.equal(mid.tombstones, 2 * n, "the first wave's tombstones still live (410)");
      // Idle past every lifetime: the periodic sweep empties it without any call.
      clock += 120_000;
      const empty = { jobs: 0, tombstones: 0, batches: 0, idempotencyKeys: 0, recentIds: 0 };
      await waitFor(() => JSON.stringify(store.size()) === JSON.stringify(empty), {
        timeoutMs: 5000,
        what: `an empty store (${JSON.stringify(store.size())})`,
      });
    } finally {
      await store.close();
    }
  });

  it("counts lifetimes on a monotonic clock: a wall clock stepped forward (NTP, a resumed VM) expires nothing", async () => {
    // CI saw a 1 s record and its 2 s tombstone both gone 163 ms after creation: the machine's
    // clock had stepped. Lifetimes are durations; only the records' timestamps are wall-clock times.
    await withSteppedClock(async (step) => {
      const store = createMemoryStore({ ttlSeconds: 60, tombstoneSeconds: 120 });
      try {
        const rec = newRecord();
        await store.create(rec);
        await store.claimIdempotencyKey(`key-${rec.jobid}`, rec.jobid);
        step(10 * 60_000); // the clock steps ten minutes ahead
        assert.ok(await store.get(rec.jobid), "a job 60 s old by the wall clock's step but not in fact is still there");
        assert.equal(await store.wasExpired(rec.jobid), false);
        assert.equal(await store.claimIdempotencyKey(`key-${rec.jobid}`, "other"), rec.jobid, "its key is still held");
        const updated = await store.update(rec.jobid, { progress: 0.5 });
        assert.ok(
          Date.parse(updated!.record.updated_at) >= Date.now() - 5000,
          "timestamps still follow the wall clock",
        );
      } finally {
        await store.close();
      }
    });
  });
});
