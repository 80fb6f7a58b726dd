import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { JobMessage } from "../../tasks/contract.js";
import { createJobProcessor } from "../../tasks/process-job.js";
import { createFileReportStore } from "../../tasks/report-store/file.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import type { JobRecord, JobStore } from "../../tasks/store/types.js";
import { newRecord } from "../contract/job-store.contract.js";
import { testModel } from "../helpers/memory-app.js";
import { waitFor } from "../helpers/wait-for.js";
import { silentLogger } from "../helpers/silent-logger.js";

function setup(render: (store: JobStore) => Promise<Buffer> = async () => Buffer.from("%PDF-1.7 fake")) {
  const store = createMemoryStore({ ttlSeconds: 60 });
  const dir = mkdtempSync(join(tmpdir(), "iris-pj-"));
  const reports = createFileReportStore(dir);
  let writes = 0;
  const processJob = createJobProcessor({
    store,
    model: testModel(),
    reports: {
      ...reports,
      put: (jobid, pdf) => {
        writes++;
        return reports.put(jobid, pdf);
      },
    },
    render: () => render(store),
    logger: silentLogger,
  });
  return { store, dir, processJob, writes: () => writes };
}

const message = (rec: JobRecord): JobMessage => ({ jobid: rec.jobid, input: rec.input!, submitted_at: rec.created_at });

describe("processJob", () => {
  it("walks the stages in order, ends in SUCCESS with the report in place", async () => {
    const t = setup();
    const rec = newRecord();
    await t.store.create(rec);
    const seen: Array<[string, number]> = [];
    await t.store.subscribe((r) => seen.push([r.stage, r.progress]));
    await t.processJob(message(rec), 1);
    assert.deepEqual(seen, [
      ["validating", 0.1],
      ["classifying", 0.3],
      ["rendering", 0.6],
      ["saving", 0.9],
      ["done", 1],
    ]);
    const done = (await t.store.get(rec.jobid))!;
    assert.equal(done.state, "SUCCESS");
    assert.equal(done.result, "setosa");
    assert.equal(done.attempts, 1);
    assert.deepEqual(readdirSync(t.dir), [done.report]);
  });

  it("a redelivered job that already succeeded is not redone", async () => {
    const t = setup();
    const rec = newRecord();
    await t.store.create(rec);
    await t.processJob(message(rec), 1);
    const seen: string[] = [];
    await t.store.subscribe((r) => seen.push(r.stage));
    await t.processJob(message(rec), 2);
    assert.equal(t.writes(), 1);
    assert.deepEqual(seen, [], "no stage was published again");
    assert.equal((await t.store.get(rec.jobid))!.attempts, 1);
  });

  it("a retry after a failure mid-job never moves progress backwards", async () => {
    let fail = true;
    const t = setup(async () => {
      if (fail) throw new Error("disk hiccup");
      return Buffer.from("%PDF-1.7 fake");
    });
    const rec = newRecord();
    await t.store.create(rec);
    await assert.rejects(t.processJob(message(rec), 1), /disk hiccup/);
    assert.equal((await t.store.get(rec.jobid))!.progress, 0.6);
    const seen: number[] = [];
    await t.store.subscribe((r) => seen.push(r.progress));
    fail = false;
    await t.processJob(message(rec), 2);
    assert.ok(
      seen.every((p) => p >= 0.6),
      `progress went back: ${seen}`,
    );
    assert.equal((await t.store.get(rec.jobid))!.state, "SUCCESS");
  });

  it("skips a cancelled job", async () => {
    const t = setup();
    const rec = newRecord();
    await t.store.create(rec);
    await t.store.update(rec.jobid, { state: "REVOKED", stage: "cancelled", progress: 1 });
    await t.processJob(message(rec), 1);
    assert.equal(t.writes(), 0);
    assert.deepEqual(readdirSync(t.dir), []);
    assert.equal((await t.store.get(rec.jobid))!.state, "REVOKED");
  });

  it("a job cancelled while its report renders leaves no report behind", async () => {
    const t = setup(async (store) => {
      // The render overlaps the opening stages' round trip: cancel once they are in.
      await waitFor(async () => (await store.get(rec.jobid))?.stage === "rendering", {
        timeoutMs: 2000,
        what: "rendering",
      });
      await store.update(rec.jobid, { state: "REVOKED", stage: "cancelled", progress: 1 });
      return Buffer.from("%PDF-1.7 fake");
    });
    const rec = newRecord();
    await t.store.create(rec);
    await t.processJob(message(rec), 1);
    const final = (await t.store.get(rec.jobid))!;
    assert.equal(final.state, "REVOKED");
    assert.equal(final.report, undefined);
    assert.equal(t.writes(), 1, "the report was written before the cancellation was seen");
    assert.deepEqual(readdirSync(t.dir), [], "the report written meanwhile was removed");
  });

  it("rebuilds a lost state from the message and completes", async () => {
    const t = setup();
    const rec = newRecord();
    await t.processJob(message(rec), 1);
    assert.equal((await t.store.get(rec.jobid))!.state, "SUCCESS");
  });
});
