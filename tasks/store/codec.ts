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

/** A hash (as an object of strings) back into a record; null when empty. */
export function decodeHash(hash: Record<string, string>): JobRecord | null {
  if (!hash.jobid) return null;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(hash)) {
    out[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : NUMBER_FIELDS.has(key) ? Number(value) : value;
  }
  return out as unknown as JobRecord;
}

/** A flat [field, value, field, value…] list (HGETALL in Lua) back into a record. */
export function decodeFlat(flat: string[]): JobRecord | null {
  const hash: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
  return decodeHash(hash);
}
