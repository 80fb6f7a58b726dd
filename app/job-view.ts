import { jobIdSchema, STAGE_LABELS } from "../tasks/contract.js";
import { JobExpiredError, JobNotFoundError, ValidationError } from "../tasks/errors.js";
import type { JobRecord, JobStore } from "../tasks/store/types.js";

/** The body of /progress and of the socket's `progress` event. */
export interface ProgressBody {
  jobid: string;
  state: JobRecord["state"];
  progress: number;
  stage: string;
  stage_label: string;
  error?: string;
  result?: string;
  probabilities?: Record<string, number>;
  /** Batch jobs: the row count, and once done the rows per species. */
  batch_size?: number;
  summary?: Record<string, number>;
}

/** A record as clients see it: no file names, no attempts. */
export function progressBody(record: JobRecord): ProgressBody {
  const body: ProgressBody = {
    jobid: record.jobid,
    state: record.state,
    progress: record.progress,
    stage: record.stage,
    stage_label: STAGE_LABELS[record.stage] ?? record.stage,
  };
  if (record.error) body.error = record.error;
  if (record.batch_size !== undefined) {
    body.batch_size = record.batch_size;
    if (record.state === "SUCCESS") body.summary = record.summary;
  } else if (record.state === "SUCCESS") {
    body.result = record.result;
    body.probabilities = record.probabilities;
  }
  return body;
}

/** A job id from a query or path: malformed → 400 ValidationError. */
export function parseJobId(raw: unknown): string {
  if (raw === undefined || raw === "") {
    throw new ValidationError("The job id is missing.", [{ field: "jobid", message: "A job id is required." }]);
  }
  const parsed = jobIdSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ValidationError("The job id is not a valid id.", [{ field: "jobid", message: "The job id must be a UUID." }]);
  }
  return parsed.data.toLowerCase();
}

/** What loadJob reads: the store, or the status routes' cache of it (app/job-cache.ts). */
export type JobReader = Pick<JobStore, "get" | "wasExpired">;

/** Validates the id and loads the job: malformed 400, unknown 404, expired 410. */
export async function loadJob(store: JobReader, rawId: unknown): Promise<JobRecord> {
  const jobid = parseJobId(rawId);
  const record = await store.get(jobid);
  if (record) return record;
  if (await store.wasExpired(jobid)) throw new JobExpiredError(jobid);
  throw new JobNotFoundError(jobid);
}
