import { CsvError, parse } from "csv-parse/sync";
import { FEATURES, LEGACY_NAMES, type Feature, type Measurements } from "../tasks/contract.js";
import type { FieldIssue } from "../tasks/errors.js";
import { clip, invalid, parseMeasurementStrings, tooManyRows } from "./api-schemas.js";

/** A cell longer than this is not a measurement; it also bounds what one bad line costs to parse. */
const MAX_RECORD_BYTES = 4096;

/**
 * A batch CSV (header row naming the four measurements, in any order; legacy names accepted)
 * → validated rows. Problems are reported by the file's row number (the header is row 1), and
 * a file with any bad row is refused whole. Throws ValidationError (400) or HttpError (413).
 */
export function parseBatchCsv(bytes: Buffer, maxBatchRows: number): Measurements[] {
  const records = readRecords(bytes);
  if (records.length === 0) throw invalid([{ field: "file", message: "The CSV file is empty." }]);
  const [header, ...rows] = records;
  const columns = headerColumns(header!.record);
  if (rows.length === 0) {
    throw invalid([{ field: "file", message: "The CSV file has a header but no rows." }]);
  }
  if (rows.length > maxBatchRows) throw tooManyRows(rows.length, maxBatchRows, "file");

  const inputs: Measurements[] = [];
  const issues: FieldIssue[] = [];
  for (const { record, info } of rows) {
    const line = info.lines;
    if (record.length !== columns.length) {
      issues.push({
        field: `row ${line}`,
        message: `Row ${line}: has ${record.length} values; the header has ${columns.length}.`,
      });
      continue;
    }
    const raw = Object.fromEntries(columns.map((c, i) => [c, record[i]!]));
    const checked = parseMeasurementStrings(raw, { maxBatchRows, fieldPrefix: `row ${line}.`, where: `Row ${line}: ` });
    if (checked.ok) inputs.push(checked.value);
    else issues.push(...checked.issues);
  }
  if (issues.length) throw invalid(issues);
  return inputs;
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

function readRecords(bytes: Buffer): CsvRecord[] {
  try {
    return parse(bytes, {
      bom: true,
      encoding: "utf8",
      info: true,
      trim: true,
      skip_empty_lines: true,
      // Row lengths are checked here, so a short row is reported by its number, not as a parse failure.
      relax_column_count: true,
      max_record_size: MAX_RECORD_BYTES,
    }) as unknown as CsvRecord[];
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = (err as CsvError & { lines?: number }).lines;
    const where = line ? `Row ${line}: ` : "";
    throw invalid([{ field: line ? `row ${line}` : "file", message: `${where}${csvProblem(err)}` }]);
  }
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
