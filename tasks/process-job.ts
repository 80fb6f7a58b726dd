import { FEATURES, isBatchMessage, STAGES, type JobMessage, type Measurements } from "./contract.js";
import { fixedFieldsLogger, type Logger } from "./logger.js";
import type { Model, Prediction } from "./model/load.js";
import type { ReportStore } from "./report-store/types.js";
import { countBySpecies, renderBatchReport, type BatchReportData } from "./report/render-batch.js";
import type { ReportData } from "./report/render.js";
import type { JobStore, JobUpdate } from "./store/types.js";

/** What processing one job needs, passed in so tests can swap any part. */
export interface JobProcessorDeps {
  store: JobStore;
  model: Model;
  reports: Pick<ReportStore, "put" | "remove">;
  render: (data: ReportData) => Promise<Buffer>;
  /** The batch renderer; renderBatchReport unless a test swaps it. */
  renderBatch?: (data: BatchReportData) => Promise<Buffer>;
  logger: Logger;
  now?: () => Date;
}

/** `work`, to be awaited later: its rejection is marked as handled, so an early one is not reported as unhandled. */
function awaitLater<T>(work: Promise<T>): Promise<T> {
  work.catch(() => {});
  return work;
}

/** A job's own end: it was finished or cancelled elsewhere, so this delivery stops quietly. */
class JobAlreadyFinal extends Error {}

/**
 * Returns the function that runs one job through its stages. It throws when the job should be
 * retried; it returns normally when the job is done (now or before: redelivery is idempotent).
 */
export function createJobProcessor(deps: JobProcessorDeps): (msg: JobMessage, attempt: number) => Promise<void> {
  const { store, model, reports, render } = deps;
  // Every line here has fixed fields (job id, attempt, stage, state): no redaction needed.
  const logger = fixedFieldsLogger(deps.logger);
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

    /** Applies stage updates in one round trip; throws JobAlreadyFinal when the job was final (now or already). */
    const advance = async (...updates: JobUpdate[]): Promise<void> => {
      const outcomes = await store.updateMany(msg.jobid, updates);
      if (outcomes.some((o) => !o?.applied)) throw new JobAlreadyFinal();
      // One line per job at info (its end); each stage only at debug.
      for (const u of updates) log.debug({ stage: u.stage, progress: u.progress }, "job stage");
    };

    // The opening stages go out together: a single flower is classified in microseconds, so it is
    // classified first and "validating → classifying → rendering" cost one Redis round trip.
    // A batch publishes "classifying" before its (longer) classification.
    const prediction = single ? model.predict(single.input) : null;
    const opening = [stageUpdate("validating", { attempts: attempt }), stageUpdate("classifying")];
    if (!batch) opening.push(stageUpdate("rendering"));
    const common = {
      jobid: msg.jobid,
      // The submission time is the job's created_at (the web writes both from one clock reading).
      createdAt: new Date(msg.submitted_at),
      modelVersion: model.version,
      cvAccuracy: model.card.cv_accuracy,
      cvFolds: model.card.cv_folds,
      classes: model.classes,
    };

    try {
      // A single report is rendered while the opening stages' round trip is in flight: the
      // stages reach Redis (and the user) in order all the same, and a job that turns out to
      // be final already (a redelivery, a cancellation) only costs the discarded render.
      const opened = awaitLater(advance(...opening));
      const speculative = single ? awaitLater(render({ ...common, input: single.input, ...prediction! })) : null;
      try {
        await opened;
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
        await advance(...opening);
      }
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
        pdf = await speculative!;
        final = { result: prediction!.result, probabilities: prediction!.probabilities };
      }
      // "saving" goes out while the report is stored; the stored report is checked against it
      // afterwards. SUCCESS is written only once the report is stored, so it never points at nothing.
      const saving = awaitLater(advance(stageUpdate("saving")));
      const written = awaitLater(reports.put(msg.jobid, pdf));
      try {
        await saving;
      } catch (err) {
        // Cancelled (or failed) while rendering: no report may stay behind for a job that has
        // none. The name is the job's own, so a SUCCESS elsewhere points at this very report.
        if (err instanceof JobAlreadyFinal) {
          const name = await written.catch(() => null);
          if (name && (await store.get(msg.jobid))?.state !== "SUCCESS") await reports.remove(name);
        }
        throw err;
      }
      const report = await written;
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
