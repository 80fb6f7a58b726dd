import type { Readable } from "node:stream";

/** The one name a job's report has: deterministic, so a redelivered job overwrites, never duplicates. */
export function reportFileName(jobid: string): string {
  return `iris-report-${jobid}.pdf`;
}

/** A stored report opened for reading: its length, and its bytes (whole, or a stream of exactly that many). */
export interface StoredReport {
  size: number;
  body: Buffer | Readable;
}

/**
 * Where reports live (REPORT_STORE): a directory (file.ts) or an S3 bucket (s3.ts). Workers put,
 * the web opens, the sweep removes what is older than the TTL. A store that is away throws
 * ReportStoreUnavailableError (an outage: the worker holds the job); one that refuses (no
 * permission, a full disk) throws its own error, which costs the job an attempt.
 */
export interface ReportStore {
  /** As logs and /readyz name it: `file:results_data`, `s3://bucket/prefix/`. */
  readonly name: string;
  /** Stores a job's report whole (a reader never sees part of it); resolves with its name once it is durable. */
  put(jobid: string, pdf: Buffer): Promise<string>;
  /** The report's length, or null when there is none (HEAD). */
  size(name: string): Promise<number | null>;
  /** Opens a report, or null when there is none. `small`: the caller expects a one-page report, read whole. */
  open(name: string, opts?: { small?: boolean }): Promise<StoredReport | null>;
  /** Removes a report (gone already is fine). */
  remove(name: string): Promise<void>;
  /** Deletes reports (and leftovers of unfinished writes) older than `maxAgeMs`; resolves with how many. */
  sweep(maxAgeMs: number, now?: number): Promise<number>;
  /**
   * Present when the store is a service that can be away (S3): resolves when it answers and the
   * bucket exists, else throws ReportStoreUnavailableError. A local directory has none.
   */
  ping?(): Promise<void>;
  close(): Promise<void>;
}
