import { FEATURES, isBatchMessage, STAGES, type BatchJobMessage, type JobMessage, type Stage } from "./contract.js";
import type { Logger } from "./logger.js";
import type { Model } from "./model/load.js";
import type { ReportFiles } from "./report/files.js";
import { countBySpecies, renderBatchReport, type BatchReportData } from "./report/render-batch.js";
import type { ReportData } from "./report/render.js";
import type { JobRecord, JobStore, JobUpdate } from "./store/types.js";

/** What processing one job needs, passed in so tests can swap any part. */
export interface JobProcessorDeps {
  store: JobStore;
  model: Model;
  files: ReportFiles;
  render: (data: ReportData) => Promise<Buffer>;
  /** The batch renderer; renderBatchReport unless a test swaps it. */
  renderBatch?: (data: BatchReportData) => Promise<Buffer>;
  logger: Logger;
  now?: () => Date;
}

/** A job's own end: it was finished or cancelled elsewhere, so this delivery stops quietly. */
class JobAlreadyFinal extends Error {}

/**
 * Returns the function that runs one job through its stages. It throws when the job should be
 * retried; it returns normally when the job is done (now or before: redelivery is idempotent).
 */
export function createJobProcessor(deps: JobProcessorDeps): (msg: JobMessage, attempt: number) => Promise<void> {
  const { store, model, files, render, logger } = deps;
  const renderBatch = deps.renderBatch ?? renderBatchReport;
  const now = deps.now ?? (() => new Date());

  /** A batch's stages: classify every row at once, render one report, keep the rows beside the job. */
  async function runBatch(
    msg: BatchJobMessage,
    record: JobRecord,
    attempt: number,
    advance: (stage: Stage, extra?: JobUpdate) => Promise<void>,
  ): Promise<void> {
    await advance("validating", { attempts: attempt });
    await advance("classifying");
    const predictions = model.predictMany(msg.inputs);
    const rows = msg.inputs.map((input, i) => ({ input, ...predictions[i]! }));
    await advance("rendering");
    const pdf = await renderBatch({
      jobid: msg.jobid,
      createdAt: new Date(record.created_at),
      modelVersion: model.version,
      cvAccuracy: model.card.cv_accuracy,
      cvFolds: model.card.cv_folds,
      classes: model.classes,
      rows,
    });
    await advance("saving");
    const report = await files.write(msg.jobid, pdf);
    await store.saveBatchResults(msg.jobid, {
      classes: model.classes,
      rows: rows.map((r) => [
        ...FEATURES.map((f) => r.input[f]),
        model.classes.indexOf(r.result),
        ...model.classes.map((c) => r.probabilities[c] ?? 0),
      ]),
    });
    const done = await store.update(msg.jobid, {
      state: "SUCCESS",
      stage: "done",
      progress: STAGES.done,
      summary: countBySpecies(rows, model.classes),
      report,
      model_version: model.version,
    });
    if (!done?.applied) throw new JobAlreadyFinal();
  }

  return async function processJob(msg, attempt) {
    const log = logger.child({ jobId: msg.jobid, attempt });
    const started = Date.now();
    let record = await store.get(msg.jobid);
    if (!record) {
      if (await store.wasExpired(msg.jobid)) {
        log.warn("job expired before it ran; dropping");
        return;
      }
      // The state was lost (e.g. Redis restarted without persistence): rebuild it from the message.
      const at = now().toISOString();
      record = {
        jobid: msg.jobid,
        state: "PENDING",
        progress: 0,
        stage: "queued",
        ...(isBatchMessage(msg) ? { batch_size: msg.inputs.length } : { input: msg.input }),
        attempts: 0,
        created_at: msg.submitted_at,
        updated_at: at,
      };
      await store.create(record);
    }
    if (record.state === "SUCCESS" || record.state === "FAILURE" || record.state === "REVOKED") {
      log.info({ state: record.state }, "job already final; acknowledging redelivery");
      return;
    }

    const advance = async (stage: Stage, extra: JobUpdate = {}) => {
      const outcome = await store.update(msg.jobid, {
        state: "PROGRESS",
        stage,
        progress: STAGES[stage as keyof typeof STAGES],
        ...extra,
      });
      if (!outcome || !outcome.applied) throw new JobAlreadyFinal();
      log.info({ stage, progress: outcome.record.progress }, "job stage");
    };

    try {
      if (isBatchMessage(msg)) {
        await runBatch(msg, record, attempt, advance);
        log.info({ stage: "done", rows: msg.inputs.length, ms: Date.now() - started }, "job succeeded");
        return;
      }
      await advance("validating", { attempts: attempt });
      await advance("classifying");
      const prediction = model.predict(msg.input);
      await advance("rendering");
      const pdf = await render({
        jobid: msg.jobid,
        createdAt: new Date(record.created_at),
        modelVersion: model.version,
        cvAccuracy: model.card.cv_accuracy,
        cvFolds: model.card.cv_folds,
        input: msg.input,
        result: prediction.result,
        probabilities: prediction.probabilities,
        classes: model.classes,
      });
      await advance("saving");
      const report = await files.write(msg.jobid, pdf);
      const done = await store.update(msg.jobid, {
        state: "SUCCESS",
        stage: "done",
        progress: STAGES.done,
        result: prediction.result,
        probabilities: prediction.probabilities,
        report,
        model_version: model.version,
      });
      if (!done?.applied) throw new JobAlreadyFinal();
      log.info({ stage: "done", result: prediction.result, ms: Date.now() - started }, "job succeeded");
    } catch (err) {
      if (err instanceof JobAlreadyFinal) {
        log.info("job was finished or cancelled elsewhere; stopping");
        return;
      }
      throw err;
    }
  };
}
