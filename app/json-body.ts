import Bourne from "@hapi/bourne";
import { ValidationError } from "../tasks/errors.js";
import { HttpError } from "./http-errors.js";

/** Deeper than any request of ours ({"inputs": [{...}]} is 3), with room for a clear zod message. */
const MAX_DEPTH = 8;

/**
 * Parses a JSON request body after checking its shape in one linear pass, so what JSON.parse
 * then builds is bounded by the batch limit, not by the byte limit: 2 MB of `[[[[…` or of `{},{},…`
 * would otherwise take JSON.parse hundreds of milliseconds, blocking every other request.
 *
 * - nesting deeper than MAX_DEPTH → 400;
 * - more separators (`,` `:`) and containers than a batch of `maxRows` rows needs → 413.
 * Keys like `__proto__` are refused by @hapi/bourne (co-body's parser, used directly here).
 */
export function parseJsonBody(text: string, maxRows: number): unknown {
  // A row {"a":1,"b":2,"c":3,"d":4} is 1 container + 4 colons + 3 commas, plus the comma after it.
  const maxTokens = (maxRows + 2) * 10 + 32;
  let depth = 0;
  let tokens = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_DEPTH) {
        throw new ValidationError("The JSON body is nested too deeply.", [
          { field: "body", message: `At most ${MAX_DEPTH} levels of nesting.` },
        ]);
      }
      if (++tokens > maxTokens) throw tooManyValues(maxRows);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    } else if (c === 0x2c || c === 0x3a) {
      if (++tokens > maxTokens) throw tooManyValues(maxRows);
    }
  }
  try {
    return Bourne.parse(text, { protoAction: "error" });
  } catch (err) {
    if ((err as Error).message?.includes("prototype")) {
      throw new ValidationError('The request body may not contain the key "__proto__".', [
        { field: "body", message: 'The key "__proto__" is not allowed.' },
      ]);
    }
    throw new ValidationError("The request body is not valid JSON.", [
      { field: "body", message: "The request body could not be parsed as JSON." },
    ]);
  }
}

function tooManyValues(maxRows: number): HttpError {
  return new HttpError(413, `The JSON body holds more values than a batch of at most ${maxRows} rows can.`, [
    { field: "inputs", message: `At most ${maxRows} rows (MAX_BATCH_ROWS).` },
  ]);
}
