import { Readable } from "node:stream";
import PDFDocument from "pdfkit";

/**
 * PDFKit's internals this module relies on (pinned by package-lock.json; a test holds the bytes of
 * a report to what PDFKit writes on its own).
 */
interface RefInternals {
  buffer: Uint8Array[];
  data: { Length?: number; Filter?: string };
  compress: boolean;
  uncompressedLength: number;
  /** Content operators written since the last binary chunk (ours). */
  pendingText?: string;
  write(chunk: unknown): void;
  finalize(): void;
}
interface DocInternals {
  _offset: number;
  _write(data: unknown): void;
  push(chunk: unknown): boolean;
  /** Output held until the document ends (ours). */
  pendingOut?: Array<string | Uint8Array>;
}

/** Strings as PDFKit turns them into bytes (one byte per character, its low 8 bits), in one go. */
function bytesOf(parts: Array<string | Uint8Array>): Buffer {
  const buffers: Uint8Array[] = [];
  let run = "";
  for (const part of parts) {
    if (typeof part === "string") {
      run += part;
      continue;
    }
    if (run) buffers.push(Buffer.from(run, "latin1"));
    run = "";
    buffers.push(part);
  }
  if (run) buffers.push(Buffer.from(run, "latin1"));
  return Buffer.concat(buffers);
}

function flushText(ref: RefInternals): void {
  if (!ref.pendingText) return;
  ref.buffer.push(Buffer.from(ref.pendingText, "latin1"));
  ref.pendingText = "";
}

/** Undoes the installation (for the test that compares the bytes with PDFKit's own). */
let uninstall: (() => void) | null = null;

/**
 * Makes PDFKit gather what it writes instead of converting each line on its own.
 *
 * PDFKit turns every content operator (`12.5 80 m`) and every line of the file into a new
 * Uint8Array with a JavaScript loop over its characters, and pushes each file line into its stream
 * as a separate chunk. Here a stream object's operators are kept as one string until the object
 * is written, and the file's lines until the document ends, then converted by Buffer in one call
 * each: the same bytes in about a fifth less render time. The whole file then reaches the stream
 * at the end, which costs nothing here: the renderers keep every chunk until the end anyway.
 * Idempotent; returns the function that puts PDFKit's own methods back.
 */
export function installBatchedWrites(): () => void {
  if (uninstall) return uninstall;
  const scratch = new PDFDocument({ autoFirstPage: false }) as unknown as { ref(data: object): RefInternals };
  const refProto = Object.getPrototypeOf(scratch.ref({})) as RefInternals;
  const docProto = PDFDocument.prototype as unknown as DocInternals;
  const own = { write: refProto.write, finalize: refProto.finalize, _write: docProto._write };
  const hadPush = Object.prototype.hasOwnProperty.call(docProto, "push");
  const push = docProto.push;
  uninstall = () => {
    Object.assign(refProto, { write: own.write, finalize: own.finalize });
    docProto._write = own._write;
    if (hadPush) docProto.push = push;
    else delete (docProto as Partial<DocInternals>).push;
    uninstall = null;
  };
  const finalize = own.finalize;
  refProto.write = function (this: RefInternals, chunk: unknown) {
    let length: number;
    if (chunk instanceof Uint8Array) {
      flushText(this);
      this.buffer.push(chunk);
      length = chunk.length;
    } else {
      const line = `${String(chunk)}\n`;
      this.pendingText = (this.pendingText ?? "") + line;
      length = line.length;
    }
    this.uncompressedLength += length;
    this.data.Length = (this.data.Length ?? 0) + length;
    if (this.compress) this.data.Filter = "FlateDecode";
  };
  refProto.finalize = function (this: RefInternals) {
    flushText(this);
    finalize.call(this);
  };

  docProto._write = function (this: DocInternals, data: unknown) {
    const part = data instanceof Uint8Array ? data : `${String(data)}\n`;
    (this.pendingOut ??= []).push(part);
    // Offsets (the cross-reference table) count bytes: one per character, as PDFKit converts them.
    this._offset += part.length;
  };
  docProto.push = function (this: DocInternals, chunk: unknown) {
    if (this.pendingOut?.length) {
      const out = bytesOf(this.pendingOut);
      this.pendingOut = [];
      Readable.prototype.push.call(this, out);
    }
    return Readable.prototype.push.call(this, chunk);
  };
  return uninstall;
}
