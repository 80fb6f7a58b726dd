import type { Readable } from "node:stream";
import { CsvError, parse } from "csv-parse";
import { FEATURES, LEGACY_NAMES, type Feature, type Measurements } from "../tasks/contract.js";
import { ValidationError, type FieldIssue } from "../tasks/errors.js";
import { clip, invalid } from "./field-issues.js";
import { parseMeasurementStrings } from "./parse-measurements.js";
import { tooManyRows } from "./http-errors.js";

/** A line longer than this is not a row of measurements; it also bounds what one bad line costs to parse. */
const MAX_RECORD_BYTES = 4096;

/**
 * The parser is fed this much at a time, with a turn of the event loop between slices. Small,
 * because csv-parse handles a slice in one go and a pathological one is slow: a line with the
 * wrong number of values costs it ~50 µs (it builds an error for each), so 2 KB of "1\n" lines
 * is ~1,000 such records, ~50 ms on a busy 2-core machine.
 */
const SLICE_BYTES = 2048;
/** A file with this many problems is refused without reading further (the answer lists the first 20). */
const MAX_ISSUES = 100;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A batch CSV as it streams in (header row naming the four measurements, in any order; legacy
 * names accepted) → validated rows. Nothing is held but the rows themselves: the file is parsed
 * SLICE_BYTES at a time, and the moment it holds more than `maxRows` rows the parse stops with
 * 413, so a file of millions of tiny lines costs no more than `maxRows` of them. A line over
 * MAX_RECORD_BYTES stops it too. Between slices other requests get their turn: no upload holds
 * the event loop for more than one slice's parse (a few milliseconds).
 *
 * Problems are reported by the file's row number (the header is row 1), and a file with any bad
 * row is refused whole (ValidationError, 400). `input` is consumed, and destroyed on a refusal.
 */
export async function parseBatchCsv(input: Readable, maxRows: number): Promise<Measurements[]> {
  const parser = parse({
    bom: true,
    encoding: "utf8",
    info: true,
    trim: true,
    skip_empty_lines: true,
    // Any mix of line endings (csv-parse would otherwise keep the first one it sees for the file).
    record_delimiter: ["\r\n", "\n", "\r"],
    // Row lengths are checked here, so a short row is reported by its number, not as a parse failure.
    relax_column_count: true,
    max_record_size: MAX_RECORD_BYTES,
  });
  let columns: Feature[] | null = null;
  let rows = 0;
  const inputs: Measurements[] = [];
  const issues: FieldIssue[] = [];
  let failure: unknown = null;

  const onRecord = ({ record, info }: { record: string[]; info: { lines: number } }) => {
    if (failure) return;
    try {
      if (!columns) {
        columns = headerColumns(record);
        return;
      }
      if (++rows > maxRows) throw tooManyRows(maxRows, "file");
      const line = info.lines;
      if (record.length !== columns.length) {
        issues.push({ field: `row ${line}`, message: `Row ${line}: has ${record.length} values; the header has ${columns.length}.` });
        if (issues.length >= MAX_ISSUES) throw tooManyProblems(issues);
        return;
      }
      const raw = Object.fromEntries(columns.map((c, i) => [c, record[i]!]));
      const checked = parseMeasurementStrings(raw, { maxBatchRows: maxRows, fieldPrefix: `row ${line}.`, where: `Row ${line}: ` });
      if (checked.ok) inputs.push(checked.value);
      else issues.push(...checked.issues);
      if (issues.length >= MAX_ISSUES) throw tooManyProblems(issues);
    } catch (err) {
      failure = err;
    }
  };
  parser.on("data", onRecord);
  const ended = new Promise<void>((resolve) => {
    parser.on("end", resolve);
    parser.on("error", (err) => {
      failure ??= err;
      resolve();
    });
  });

  for await (const chunk of input as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length && !failure; i += SLICE_BYTES) {
      parser.write(chunk.subarray(i, i + SLICE_BYTES));
      await turn();
    }
    if (failure) break; // destroys `input`: the rest of the upload is not read
  }
  if (!failure) {
    parser.end();
    await ended;
  }
  parser.destroy();
  if (failure) {
    if (!(failure instanceof CsvError)) throw failure;
    const line = (failure as CsvError & { lines?: number }).lines;
    const where = line ? `Row ${line}: ` : "";
    throw invalid([{ field: line ? `row ${line}` : "file", message: `${where}${csvProblem(failure)}` }]);
  }
  if (!columns) throw invalid([{ field: "file", message: "The CSV file is empty." }]);
  if (rows === 0) throw invalid([{ field: "file", message: "The CSV file has a header but no rows." }]);
  if (issues.length) throw invalid(issues);
  return inputs;
}

/** 400 for a file refused at its MAX_ISSUES-th problem: the first ones, and that there are more. */
function tooManyProblems(issues: FieldIssue[]): ValidationError {
  const shown = issues.slice(0, 20);
  shown.push({ field: "file", message: `…and more: the file was not read past its first ${issues.length} problems.` });
  return new ValidationError(`The file has at least ${issues.length} problems; the first: ${issues[0]!.message}`, shown);
}

/** csv-parse's error codes in words a person understands. */
function csvProblem(err: CsvError): string {
  switch (err.code) {
    case "CSV_QUOTE_NOT_CLOSED":
      return "A quoted value is never closed.";
    case "CSV_INVALID_CLOSING_QUOTE":
    case "CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE":
      return "A quoted value has text after its closing quote.";
    case "CSV_MAX_RECORD_SIZE":
      return "The line is too long to be a row of measurements.";
    default:
      return "The CSV file could not be read.";
  }
}

/** The header's columns as our field names; unknown, missing or repeated names are refused. */
function headerColumns(header: string[]): Feature[] {
  const issues: FieldIssue[] = [];
  const columns: Feature[] = [];
  for (const name of header) {
    const key = name.trim();
    const feature = (FEATURES as readonly string[]).includes(key.toLowerCase())
      ? (key.toLowerCase() as Feature)
      : Object.hasOwn(LEGACY_NAMES, key)
        ? LEGACY_NAMES[key]!
        : undefined;
    if (!feature) {
      issues.push({ field: "header", message: `Row 1: unknown column "${clip(key)}"; the columns are ${FEATURES.join(", ")}.` });
    } else if (columns.includes(feature)) {
      issues.push({ field: "header", message: `Row 1: the column ${feature} appears twice.` });
    } else {
      columns.push(feature);
    }
  }
  if (!issues.length) {
    for (const f of FEATURES) {
      if (!columns.includes(f)) issues.push({ field: "header", message: `Row 1: the header has no ${f} column.` });
    }
  }
  if (issues.length) throw invalid(issues);
  return columns;
}
