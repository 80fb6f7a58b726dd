import { FEATURES, isBatchMessage, STAGES, type JobMessage, type Measurements } from "./contract.js";
import type { Logger } from "./logger.js";
import type { Model, Prediction } from "./model/load.js";
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

  /** The update that starts `stage`. */
  const stageUpdate = (stage: keyof typeof STAGES, extra: JobUpdate = {}): JobUpdate => ({
    state: "PROGRESS",
    stage,
    progress: STAGES[stage],
    ...extra,
  });

  return async function processJob(msg, attempt) {
    const log = logger.child({ jobId: msg.jobid, attempt });
    const started = Date.now();
    const batch = isBatchMessage(msg) ? msg : null;
    const single = isBatchMessage(msg) ? null : msg;

    /** Applies stage updates in one round trip; false when the job was final (now or already). */
    const advance = async (...updates: JobUpdate[]): Promise<JobRecord> => {
      const outcomes = await store.updateMany(msg.jobid, updates);
      if (outcomes.some((o) => !o?.applied)) throw new JobAlreadyFinal();
      for (const u of updates) log.info({ stage: u.stage, progress: u.progress }, "job stage");
      return outcomes.at(-1)!.record;
    };

    // The opening stages go out together: a single flower is classified in microseconds, so it is
    // classified first and "validating → classifying → rendering" cost one Redis round trip.
    // A batch publishes "classifying" before its (longer) classification.
    const prediction = single ? model.predict(single.input) : null;
    const opening = [stageUpdate("validating", { attempts: attempt }), stageUpdate("classifying")];
    if (!batch) opening.push(stageUpdate("rendering"));

    try {
      let record: JobRecord;
      try {
        record = await advance(...opening);
      } catch (err) {
        if (!(err instanceof JobAlreadyFinal)) throw err;
        const current = await store.get(msg.jobid);
        if (current) {
          log.info({ state: current.state }, "job already final; acknowledging redelivery");
          return;
        }
        if (await store.wasExpired(msg.jobid)) {
          log.warn("job expired before it ran; dropping");
          return;
        }
        // The state was lost (e.g. Redis restarted without persistence): rebuild it from the message.
        await store.create({
          jobid: msg.jobid,
          state: "PENDING",
          progress: 0,
          stage: "queued",
          ...(batch ? { batch_size: batch.inputs.length } : { input: single!.input }),
          attempts: 0,
          created_at: msg.submitted_at,
          updated_at: now().toISOString(),
        });
        record = await advance(...opening);
      }
      const common = {
        jobid: msg.jobid,
        createdAt: new Date(record.created_at),
        modelVersion: model.version,
        cvAccuracy: model.card.cv_accuracy,
        cvFolds: model.card.cv_folds,
        classes: model.classes,
      };
      let pdf: Buffer;
      let final: JobUpdate;
      let rows: Array<{ input: Measurements } & Prediction> = [];
      if (batch) {
        const predictions = model.predictMany(batch.inputs);
        rows = batch.inputs.map((input, i) => ({ input, ...predictions[i]! }));
        await advance(stageUpdate("rendering"));
        pdf = await renderBatch({ ...common, rows });
        final = { summary: countBySpecies(rows, model.classes) };
      } else {
        pdf = await render({ ...common, input: single!.input, ...prediction! });
        final = { result: prediction!.result, probabilities: prediction!.probabilities };
      }
      await advance(stageUpdate("saving"));
      const report = await files.write(msg.jobid, pdf);
      if (batch) {
        await store.saveBatchResults(msg.jobid, {
          classes: model.classes,
          rows: rows.map((r) => [
            ...FEATURES.map((f) => r.input[f]),
            model.classes.indexOf(r.result),
            ...model.classes.map((c) => r.probabilities[c] ?? 0),
          ]),
        });
      }
      const done = await store.update(msg.jobid, {
        state: "SUCCESS",
        stage: "done",
        progress: STAGES.done,
        ...final,
        report,
        model_version: model.version,
      });
      if (!done?.applied) throw new JobAlreadyFinal();
      log.info(
        { stage: "done", ...(batch ? { rows: rows.length } : { result: final.result }), ms: Date.now() - started },
        "job succeeded",
      );
    } catch (err) {
      if (err instanceof JobAlreadyFinal) {
        log.info("job was finished or cancelled elsewhere; stopping");
        return;
      }
      throw err;
    }
  };
}
