import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { after, before, describe, it } from "node:test";
import { reportFileName, type ReportStore } from "../../tasks/report-store/types.js";

/** A fake PDF of `bytes` bytes, different for each `seed`. */
export function fakePdf(bytes: number, seed = 1): Buffer {
  const pdf = Buffer.alloc(bytes, seed % 251);
  pdf.write("%PDF-1.7\n");
  for (let i = 9; i < bytes; i += 4096) pdf[i] = (i * seed) % 256;
  return pdf;
}

/** Reads a stored report whole, whichever form its body has. */
export async function readAll(body: Buffer | Readable): Promise<Buffer> {
  return Buffer.isBuffer(body) ? body : buffer(body);
}

/**
 * How a contract run gets a store: a fresh one (own directory or bucket), and `extra()`, a way to
 * place an object that is not a report beside the reports (the sweep must leave it).
 */
export type MakeReportStore = () => Promise<{
  store: ReportStore;
  /** Puts a non-report object `name` into the store's place; `exists(name)` tells whether it is still there. */
  extra: { put(name: string): Promise<void>; exists(name: string): Promise<boolean> };
  cleanup(): Promise<void>;
}>;

/** The ReportStore contract; run once per implementation. */
export function describeReportStore(name: string, make: MakeReportStore): void {
  describe(`ReportStore contract: ${name}`, () => {
    let t: Awaited<ReturnType<MakeReportStore>>;
    before(async () => {
      t = await make();
    });
    after(async () => {
      await t.store.close();
      await t.cleanup();
    });

    it("puts a report under the job's one name and reads back the same bytes, whole or streamed", async () => {
      const jobid = randomUUID();
      const pdf = fakePdf(10_000);
      const stored = await t.store.put(jobid, pdf);
      assert.equal(stored, reportFileName(jobid));
      assert.equal(await t.store.size(stored), pdf.length);
      for (const small of [true, false]) {
        const got = await t.store.open(stored, { small });
        assert.ok(got, "the report is there");
        assert.equal(got.size, pdf.length);
        assert.deepEqual(await readAll(got.body), pdf);
      }
    });

    it("answers null for a report that is not there, and removing one is fine", async () => {
      const missing = reportFileName(randomUUID());
      assert.equal(await t.store.size(missing), null);
      assert.equal(await t.store.open(missing), null);
      assert.equal(await t.store.open(missing, { small: true }), null);
      await t.store.remove(missing);
    });

    it("a redelivered job's put replaces its report, and remove deletes it", async () => {
      const jobid = randomUUID();
      const first = await t.store.put(jobid, fakePdf(5000, 1));
      const second = await t.store.put(jobid, fakePdf(7000, 2));
      assert.equal(first, second);
      const got = await t.store.open(second);
      assert.deepEqual(await readAll(got!.body), fakePdf(7000, 2));
      await t.store.remove(second);
      assert.equal(await t.store.open(second), null);
      assert.equal(await t.store.size(second), null);
    });

    it("a reader never sees part of a report: while a large one is written it is absent or whole", async () => {
      const jobid = randomUUID();
      const pdf = fakePdf(12 * 1024 * 1024, 3);
      const writing = t.store.put(jobid, pdf);
      let done = false;
      void writing.finally(() => (done = true));
      const seen = new Set<number>();
      while (!done) {
        const size = await t.store.size(reportFileName(jobid));
        if (size !== null) seen.add(size);
      }
      await writing;
      for (const size of seen) assert.equal(size, pdf.length, "only the whole report is ever visible");
      const got = await t.store.open(reportFileName(jobid));
      assert.equal(got!.size, pdf.length);
      assert.ok((await readAll(got!.body)).equals(pdf), "the large report reads back byte for byte");
    });

    it("sweeps reports older than the age it is given, and nothing else", async () => {
      const fresh = await t.store.put(randomUUID(), fakePdf(1000));
      await t.extra.put("notes.txt");
      assert.equal(await t.store.sweep(60_000), 0, "nothing is a minute old yet");
      assert.equal(await t.store.size(fresh), 1000);
      // From a minute on, every report so far counts as older than a second.
      const removed = await t.store.sweep(1000, Date.now() + 60_000);
      assert.ok(removed >= 1, `removed ${removed}`);
      assert.equal(await t.store.size(fresh), null, "the old report is gone");
      assert.equal(await t.extra.exists("notes.txt"), true, "what is not a report stays");
    });
  });
}
