// app/job-cache.ts on its own: a store whose reads the test counts (and can hold back) and whose
// change feed the test drives, gaps included.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import { createJobCache } from "../../app/job-cache.js";
import { withSteppedClock } from "../helpers/stepped-clock.js";
import { waitFor } from "../helpers/wait-for.js";
import type { FeedEvents, JobRecord, JobStore } from "../../tasks/store/types.js";

const record = (jobid: string, patch: Partial<JobRecord> = {}): JobRecord => {
  const at = new Date().toISOString();
  return {
    jobid,
    state: "PROGRESS",
    progress: 0.1,
    stage: "validating",
    attempts: 1,
    revision: 1,
    created_at: at,
    updated_at: at,
    ...patch,
  };
};

/** A store with a test-driven feed: `held` records answer reads; `reads` counts them. */
function fakeStore() {
  const held = new Map<string, JobRecord>();
  let push: (r: JobRecord) => void = () => {};
  let events: FeedEvents = {};
  let gate: Promise<void> | null = null;
  const fake = {
    reads: 0,
    held,
    /** The next reads wait for the returned release function. */
    hold() {
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    /** A change heard on the feed (and now what reads return). */
    change(r: JobRecord) {
      held.set(r.jobid, r);
      push(r);
    },
    gap: () => events.onGap?.(),
    resume: () => events.onResume?.(),
    store: {
      async get(jobid: string) {
        fake.reads++;
        const answer = held.get(jobid) ?? null;
        if (gate) await gate;
        return answer;
      },
      async wasExpired() {
        return false;
      },
      async subscribe(listener: (r: JobRecord) => void, e: FeedEvents = {}) {
        push = listener;
        events = e;
        return async () => {};
      },
    } as unknown as JobStore,
  };
  return fake;
}

const started = async (opts: Partial<Parameters<typeof createJobCache>[0]> = {}) => {
  const fake = fakeStore();
  const cache = createJobCache({ store: fake.store, ttlSeconds: 3600, ...opts });
  await cache.ready;
  return { fake, cache };
};

describe("job cache: status from the change feed", () => {
  it("serves a job it heard of without asking the store, also one another process created", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.change(record(id, { progress: 0.3, revision: 2 }));
    for (let i = 0; i < 5; i++) assert.equal((await cache.get(id))!.progress, 0.3);
    assert.equal(fake.reads, 0);
    await cache.close();
  });

  it("asks the store for a job it has not heard of, once, then serves it from memory", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.held.set(id, record(id));
    assert.equal((await cache.get(id))!.progress, 0.1);
    assert.equal((await cache.get(id))!.progress, 0.1);
    assert.equal(fake.reads, 1);
    assert.equal(await cache.get(randomUUID()), null, "an unknown job is the store's answer");
    await cache.close();
  });

  it("never serves a state older than one it served", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.change(record(id, { progress: 0.6, stage: "rendering", revision: 3 }));
    assert.equal((await cache.get(id))!.progress, 0.6);
    fake.gap();
    // Redis came back empty and the job was rebuilt from its message: the store is behind.
    fake.held.set(id, record(id, { progress: 0.1, revision: 1 }));
    assert.equal((await cache.get(id))!.progress, 0.6);
    // A late message of an older change does not win either.
    fake.resume();
    fake.change(record(id, { progress: 0.9, stage: "saving", revision: 4 }));
    fake.change(record(id, { progress: 0.6, stage: "rendering", revision: 3 }));
    assert.equal((await cache.get(id))!.progress, 0.9);
    await cache.close();
  });

  it("after a gap, asks the store until a fresh message or a read made while live vouches for a job", async () => {
    const { fake, cache } = await started();
    const [a, b] = [randomUUID(), randomUUID()];
    fake.change(record(a));
    fake.change(record(b));
    await cache.get(a);
    assert.equal(fake.reads, 0);
    fake.gap();
    fake.held.set(a, record(a, { progress: 0.3, stage: "classifying", revision: 2 })); // not heard
    assert.equal((await cache.get(a))!.progress, 0.3, "the change made during the gap is read");
    assert.equal(fake.reads, 1);
    await cache.get(a);
    assert.equal(fake.reads, 2, "still unverified while the feed is down");
    fake.resume();
    await cache.get(a);
    assert.equal(fake.reads, 3, "entries from before the resume are unverified");
    await cache.get(a);
    assert.equal(fake.reads, 3, "a read made while live verifies");
    fake.change(record(b, { progress: 0.9, revision: 5 }));
    assert.equal((await cache.get(b))!.progress, 0.9);
    assert.equal(fake.reads, 3, "a fresh message verifies");
    await cache.close();
  });

  it("does not trust a read that was in flight across a gap", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.held.set(id, record(id));
    const release = fake.hold();
    const reading = cache.get(id);
    fake.gap();
    fake.resume();
    release();
    await reading;
    await cache.get(id);
    assert.equal(fake.reads, 2, "the second request reads again");
    await cache.get(id);
    assert.equal(fake.reads, 2);
    await cache.close();
  });

  it("shares one read among concurrent requests for the same job", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.held.set(id, record(id));
    const release = fake.hold();
    const answers = Array.from({ length: 20 }, () => cache.get(id));
    release();
    for (const r of await Promise.all(answers)) assert.equal(r!.jobid, id);
    assert.equal(fake.reads, 1);
    await cache.close();
  });

  it("keeps at most maxJobs, dropping the least recently used", async () => {
    const { fake, cache } = await started({ maxJobs: 3 });
    const ids = Array.from({ length: 5 }, () => randomUUID());
    fake.change(record(ids[0]!));
    fake.change(record(ids[1]!));
    fake.change(record(ids[2]!));
    await cache.get(ids[0]!); // used: stays
    fake.change(record(ids[3]!));
    fake.change(record(ids[4]!));
    assert.equal(cache.stats().jobs, 3);
    await cache.get(ids[0]!);
    assert.equal(fake.reads, 0, "the recently used one stayed");
    await cache.get(ids[1]!);
    assert.equal(fake.reads, 1, "the least recently used one went");
    await cache.close();
  });

  it("forgets a job when the store's retention would have ended it", async () => {
    let clock = 0;
    const { fake, cache } = await started({ ttlSeconds: 100, monotonic: () => clock });
    const id = randomUUID();
    fake.change(record(id));
    await cache.get(id);
    assert.equal(fake.reads, 0);
    clock += 89_000;
    await cache.get(id);
    assert.equal(fake.reads, 0, "inside the retention (less its 10 s margin) it serves from memory");
    clock += 1_000;
    fake.held.delete(id);
    assert.equal(await cache.get(id), null, "past the retention it asks the store");
    assert.equal(fake.reads, 1);
    assert.equal(cache.stats().jobs, 0);
    await cache.close();
  });
});

describe("job cache: lifetimes on the monotonic clock", () => {
  // Entries end when the store's retention would (updated_at + TTL, a little early), counted on
  // the monotonic clock: a wall clock that NTP or a resumed VM steps must not move that end.
  it("a wall clock stepped back does not keep a job past the store's retention", async () => {
    await withSteppedClock(async (step) => {
      const { fake, cache } = await started({ ttlSeconds: 1 });
      const id = randomUUID();
      fake.change(record(id));
      assert.ok(await cache.get(id));
      assert.equal(fake.reads, 0, "served from what it heard");
      step(-10 * 60_000);
      fake.held.delete(id); // the store's TTL ends it after ~1 s, whatever this process's clock says
      await waitFor(async () => (await cache.get(id)) === null, {
        timeoutMs: 5000,
        what: "the store asked after the TTL",
      });
      assert.equal(fake.reads, 1);
      await cache.close();
    });
  });

  it("a wall clock stepped forward does not end a job early", async () => {
    await withSteppedClock(async (step) => {
      const { fake, cache } = await started({ ttlSeconds: 3600 });
      const id = randomUUID();
      fake.change(record(id));
      step(2 * 3600_000);
      assert.ok(await cache.get(id));
      assert.equal(fake.reads, 0, "still served from memory: no time has passed");
      await cache.close();
    });
  });
});

describe("job cache: waiting for a job's next change", () => {
  it("wakes a watcher on the job's change, on a gap, at its timeout, on abort and on close", async () => {
    const { fake, cache } = await started();
    const id = randomUUID();
    fake.change(record(id));
    const watch = cache.watch(id)!;
    const next = watch.next(10_000);
    fake.change(record(randomUUID())); // another job: no wake
    fake.change(record(id, { progress: 0.3, revision: 2 }));
    assert.equal(await next, "change");
    fake.change(record(id, { progress: 0.6, revision: 3 })); // while not waiting: kept for the next call
    assert.equal(await watch.next(10_000), "change");
    assert.equal(await watch.next(1), "timeout");
    const aborted = new AbortController();
    const pending = watch.next(10_000, aborted.signal);
    aborted.abort();
    assert.equal(await pending, "aborted");
    const gapped = watch.next(10_000);
    fake.gap();
    assert.equal(await gapped, "gap");
    fake.resume();
    const closing = watch.next(10_000);
    await cache.close();
    assert.equal(await closing, "closed");
    watch.release();
    assert.equal(cache.stats().waiters, 0);
  });

  it("refuses watchers beyond maxWaiters and while the feed is down; released ones free their place", async () => {
    const { fake, cache } = await started({ maxWaiters: 2 });
    const id = randomUUID();
    const a = cache.watch(id)!;
    const b = cache.watch(id)!;
    assert.equal(cache.watch(id), null, "over the cap");
    a.release();
    a.release(); // twice is harmless
    assert.equal(cache.stats().waiters, 1);
    const c = cache.watch(randomUUID());
    assert.ok(c);
    b.release();
    c.release();
    fake.gap();
    assert.equal(cache.watch(id), null, "no feed to wake it");
    fake.resume();
    assert.ok(cache.watch(id));
    await cache.close();
  });
});
