import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BatchReportData } from "../../tasks/report/render-batch.js";
import { limitBatchRenders } from "../../tasks/start-worker-process.js";

/** A batch renderer the test finishes by hand, counting how many calls are running. */
function handRenderer() {
  let running = 0;
  let peak = 0;
  const pending: Array<{ data: BatchReportData; finish(ok: boolean): void }> = [];
  const render = (data: BatchReportData) =>
    new Promise<Buffer>((resolve, reject) => {
      running++;
      peak = Math.max(peak, running);
      pending.push({
        data,
        finish(ok) {
          running--;
          if (ok) resolve(Buffer.from(data.jobid));
          else reject(new Error(`render of ${data.jobid} failed`));
        },
      });
    });
  return { render, pending, peak: () => peak, running: () => running };
}

const batch = (jobid: string) => ({ jobid }) as BatchReportData;
/** Lets queued continuations (p-limit starts the next call asynchronously) run. */
const settle = () => new Promise((r) => setImmediate(r));

describe("batch renders per worker", () => {
  it("runs at most `limit` at once and starts the others, in order, as slots free up", async () => {
    const hand = handRenderer();
    const render = limitBatchRenders(2, hand.render);
    const results = ["a", "b", "c", "d", "e"].map((id) => render(batch(id)));
    await settle();
    assert.deepEqual(hand.pending.map((p) => p.data.jobid), ["a", "b"]);
    hand.pending[0]!.finish(true);
    await settle();
    assert.deepEqual(hand.pending.map((p) => p.data.jobid), ["a", "b", "c"]);
    assert.equal(hand.running(), 2);
    for (let i = 1; i < 5; i++) {
      hand.pending[i]!.finish(true);
      await settle();
    }
    const pdfs = await Promise.all(results);
    assert.deepEqual(pdfs.map(String), ["a", "b", "c", "d", "e"]);
    assert.equal(hand.peak(), 2);
  });

  it("frees the slot of a render that fails, and passes its error on", async () => {
    const hand = handRenderer();
    const render = limitBatchRenders(1, hand.render);
    const failing = render(batch("bad"));
    const next = render(batch("good"));
    await settle();
    hand.pending[0]!.finish(false);
    await assert.rejects(failing, /render of bad failed/);
    await settle();
    assert.equal(hand.pending.length, 2, "the next render started after the failure");
    hand.pending[1]!.finish(true);
    assert.equal(String(await next), "good");
    assert.equal(hand.peak(), 1);
  });
});
