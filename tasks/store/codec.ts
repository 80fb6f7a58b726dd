import type { JobRecord, JobUpdate } from "./types.js";

/** Hash fields that hold JSON rather than plain strings. */
const JSON_FIELDS = new Set(["input", "probabilities", "summary"]);
const NUMBER_FIELDS = new Set(["progress", "attempts", "batch_size", "revision"]);

/** A record (or update) as flat hash field/value strings. */
export function encodeFields(values: Partial<JobRecord> | JobUpdate): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    out.push(key, JSON_FIELDS.has(key) ? JSON.stringify(value) : String(value));
  }
  return out;
}

/** One hash field's stored string as the record's value. */
const decodeValue = (key: string, value: string): unknown =>
  JSON_FIELDS.has(key) ? JSON.parse(value) : NUMBER_FIELDS.has(key) ? Number(value) : value;

/** A hash (as an object of strings) back into a record; null when empty. */
export function decodeHash(hash: Record<string, string>): JobRecord | null {
  if (!hash.jobid) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) out[key] = decodeValue(key, value);
  return out as unknown as JobRecord;
}

/**
 * A flat [field, value, field, value…] list (HGETALL in Lua) back into a record, as decodeHash
 * would decode the same hash; null when it has no jobid. Decoded in one pass, with no
 * intermediate object: every change on the feed and every update's reply goes through here.
 */
export function decodeFlat(flat: string[]): JobRecord | null {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = decodeValue(flat[i]!, flat[i + 1]!);
  return out.jobid ? (out as unknown as JobRecord) : null;
}
