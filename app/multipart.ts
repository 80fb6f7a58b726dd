import busboy from "busboy";
import type { Context } from "koa";
import type { Measurements } from "../tasks/contract.js";
import { ValidationError } from "../tasks/errors.js";
import { clip, invalid } from "./field-issues.js";
import { parseBatchCsv } from "./csv.js";
import { HttpError } from "./http-errors.js";
import { discardRest } from "./middleware/discard-body.js";

/** What a multipart POST /predict held: its text fields, and the CSV's rows when a file was uploaded. */
export interface MultipartBody {
  fields: Record<string, string>;
  rows?: Measurements[];
}

export interface MultipartLimits {
  /** Largest CSV file, bytes. */
  maxFileBytes: number;
  /** Most rows in the CSV (MAX_BATCH_ROWS). */
  maxRows: number;
  /** Most text fields (the form's four measurements, their legacy names, Submit, the form token). */
  maxFields: number;
  /** Longest text field, bytes. */
  maxFieldBytes: number;
}

/** Room for the boundaries, part headers and text fields around the file. */
const ENVELOPE_BYTES = 64 * 1024;

const tooLarge = (message: string, field = "body") => new HttpError(413, message, [{ field, message }]);
const unreadable = () =>
  new HttpError(400, "The multipart upload could not be read.", [{ field: "body", message: "The multipart upload could not be read." }]);

/**
 * Reads a multipart/form-data body as it streams (busboy): text fields first, then the one file
 * (field `file`) straight into the CSV parser, never to disk, so there is no temporary file to
 * leave behind. Every limit is enforced while the bytes arrive — the whole body's size, the
 * file's, the number and length of fields, one file only, the CSV's rows and line length — and
 * the first one crossed ends the read at once: the rest of the body is discarded unparsed and the
 * connection is closed after the answer.
 *
 * `beforeFile` runs when the file part starts, with the fields sent before it (the form page puts
 * its token field first), so an unauthorised upload is refused before its file is read.
 */
export function readMultipart(
  ctx: Context,
  limits: MultipartLimits,
  beforeFile: (fields: Record<string, string>) => void,
): Promise<MultipartBody> {
  const req = ctx.req;
  const maxBody = limits.maxFileBytes + ENVELOPE_BYTES;
  const declared = Number(req.headers["content-length"]);
  return new Promise<MultipartBody>((resolve, reject) => {
    let settled = false;
    let bb: busboy.Busboy;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      req.off("data", count);
      bb?.removeAllListeners();
      bb?.on("error", () => {});
      bb?.destroy();
      // Whatever the client still sends is read and dropped, unparsed, so it reads our answer.
      discardRest(req);
      reject(err);
    };
    const count = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBody) fail(tooLarge(`The upload is too large: at most ${mb(limits.maxFileBytes)} of CSV.`));
    };
    let received = 0;
    if (Number.isFinite(declared) && declared > maxBody) {
      reject(tooLarge(`The upload is too large: at most ${mb(limits.maxFileBytes)} of CSV.`));
      return;
    }
    try {
      bb = busboy({
        headers: req.headers,
        limits: {
          fileSize: limits.maxFileBytes,
          files: 1,
          fields: limits.maxFields,
          fieldSize: limits.maxFieldBytes,
          parts: limits.maxFields + 1,
          headerPairs: 16,
        },
      });
    } catch {
      reject(unreadable()); // no boundary, or not multipart at all
      return;
    }
    const fields: Record<string, string> = {};
    const issues: Array<{ field: string; message: string }> = [];
    let csv: Promise<Measurements[]> | null = null;
    req.on("data", count);
    req.on("aborted", () => fail(unreadable()));
    req.on("error", fail);

    bb.on("field", (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) {
        fail(tooLarge(`The field "${clip(name)}" is too long.`, name));
      } else if (Object.hasOwn(fields, name)) {
        issues.push({ field: name, message: `"${clip(name)}" is given more than once.` });
      } else {
        fields[name] = value;
      }
    });
    bb.on("file", (name, stream, info) => {
      // Destroyed with busboy when the upload is refused: that error is ours, already answered.
      stream.on("error", () => {});
      if (name !== "file") {
        stream.resume();
        issues.push({ field: name, message: `Unknown file field "${clip(name)}"; upload the CSV in the field "file".` });
        return;
      }
      try {
        beforeFile(fields);
      } catch (err) {
        stream.resume();
        fail(err);
        return;
      }
      if (!info.filename && !csv) {
        // A file input left empty: browsers send an empty part with no file name.
        stream.resume();
        issues.push({ field: "file", message: "Choose a CSV file to upload." });
        return;
      }
      stream.on("limit", () => fail(tooLarge(`The CSV file is too large: at most ${mb(limits.maxFileBytes)}.`, "file")));
      csv = parseBatchCsv(stream, limits.maxRows);
      // The file is read to the end only if it is good so far: any refusal stops the upload.
      csv.catch((err) => fail(err instanceof ValidationError || err instanceof HttpError ? err : unreadable()));
    });
    bb.on("filesLimit", () => fail(invalid([{ field: "file", message: "Upload one CSV file at a time." }])));
    bb.on("fieldsLimit", () =>
      fail(tooLarge(`The upload has too many fields: at most ${limits.maxFields}; send the CSV in the field "file".`)),
    );
    bb.on("partsLimit", () => fail(tooLarge(`The upload has too many parts: at most ${limits.maxFields + 1}.`)));
    bb.on("error", () => fail(unreadable()));
    bb.on("close", () => {
      if (settled) return;
      void (async () => {
        try {
          const rows = csv ? await csv : undefined;
          if (issues.length) throw invalid(issues);
          if (settled) return;
          settled = true;
          resolve(rows ? { fields, rows } : { fields });
        } catch (err) {
          fail(err instanceof ValidationError || err instanceof HttpError ? err : unreadable());
        }
      })();
    });
    req.pipe(bb);
  });
}

const mb = (bytes: number) => `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
