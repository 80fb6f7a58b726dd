// Fuzz: thousands of generated bad requests against the app on the real RabbitMQ and Redis.
// Every answer must be a 4xx (never a 5xx, never a 2xx), every JSON answer must match
// /openapi.json, and afterwards nothing may have been queued or stored and the service answers.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:http";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { openApiChecker, type OpenApiChecker } from "../helpers/openapi.js";
import { realApp, type RealApp } from "../helpers/real-app.js";

/** How many generated requests; the issue asks for at least 5,000. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 6000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const MAX_ROWS = 50;
const FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;

interface Req {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

// ---- generators -------------------------------------------------------------------------------

const validNumber = fc.double({ min: 0.01, max: 10, noNaN: true });
const validRow = fc.record(Object.fromEntries(FEATURES.map((f) => [f, validNumber])) as Record<(typeof FEATURES)[number], fc.Arbitrary<number>>);

/** Values that are never a valid measurement on their own (as JSON values). */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(0, -0, -1, 10.000001, 11, 1e308, -1e308, Number.MAX_SAFE_INTEGER, -5e-324),
  fc.double({ min: 10.0001, max: 1e300, noNaN: true }),
  fc.double({ max: 0, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom("5.1", "NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "", " ", "0x10", "5,1", "١٢"),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(null, true, false, [], {}, [5.1], { value: 5.1 }),
  fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== "number"),
);

/** Keys that must be refused (prototype tricks, near-misses, junk). */
const badKey = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "", " ", "Sepal_Length", "sepal-length", "Submit", "input", "inputs"),
  fc.string({ maxLength: 30 }).filter((k) => !(FEATURES as readonly string[]).includes(k)),
);

/** A measurement object with at least one thing wrong with it. */
const badRow: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(validRow, fc.constantFrom(...FEATURES), fc.nat(2), badValue, badKey, badValue)
  .map(([row, field, how, value, key, extra]) => {
    const out: Record<string, unknown> = { ...row };
    if (how === 0) out[field] = value;
    else if (how === 1) delete out[field];
    else Object.defineProperty(out, key, { value: extra, enumerable: true, configurable: true, writable: true });
    return out;
  });

const json = (v: unknown) => Buffer.from(JSON.stringify(v) ?? "null");
const asyncHeader = fc.constantFrom<Record<string, string>>({}, { "Async-Mode": "true" }, { "Async-Mode": "false" });

/** Raw JSON texts no JSON parser should accept, or that parse to something invalid. */
const rawJsonText = fc.oneof(
  fc.constantFrom(
    '{"input": {"sepal_length": NaN, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": Infinity, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": -Infinity, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": 1e999, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": 1e-400, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2, "__proto__": {"x": 1}}}',
    '{"__proto__": {"input": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}}',
    '{"constructor": {"prototype": {"polluted": true}}, "input": {}}',
    '{"input": {"sepal_length": 5.1, "sepal_length": "x", "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}',
    '{"input": {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}',
    '{"input": [5.1, 3.5, 1.4, 0.2]}',
    "null", "true", "42", '"input"', "[]", "{}", "", " ", "\u0000", "{'input': {}}", '{"input": undefined}',
  ),
  fc.integer({ min: 1, max: 200_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => '{"input":'.repeat(depth) + "{}" + "}".repeat(depth)),
  fc.integer({ min: 2, max: 5_000 }).map((digits) => `{"input": {"sepal_length": 1${"0".repeat(digits)}, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}}`),
  fc.string({ maxLength: 200 }),
);

const postJson = (body: Buffer, headers: Record<string, string> = {}, kind = "json"): Req => ({
  kind,
  method: "POST",
  path: "/predict",
  headers: { "Content-Type": "application/json", ...headers },
  body,
});

const jsonRequests: fc.Arbitrary<Req> = fc.oneof(
  fc.tuple(badRow, asyncHeader).map(([row, h]) => postJson(json({ input: row }), h, "json:bad-row")),
  fc.tuple(fc.array(validRow, { maxLength: 5 }), badRow, fc.array(validRow, { maxLength: 5 }), asyncHeader).map(([a, bad, b, h]) =>
    postJson(json({ inputs: [...a, bad, ...b] }), h, "json:bad-batch-row"),
  ),
  fc.tuple(fc.integer({ min: MAX_ROWS + 1, max: MAX_ROWS + 40 }), validRow).map(([n, row]) =>
    postJson(json({ inputs: Array(n).fill(row) }), {}, "json:too-many-rows"),
  ),
  fc.tuple(validRow, badKey, fc.jsonValue({ maxDepth: 2 }), asyncHeader).map(([row, key, v, h]) => {
    const body: Record<string, unknown> = { input: row };
    Object.defineProperty(body, key === "input" ? "inputs" : key, { value: v, enumerable: true });
    return postJson(json(body), h, "json:extra-top-level");
  }),
  fc.tuple(fc.jsonValue({ maxDepth: 6 }), asyncHeader).map(([v, h]) => postJson(json(v), h, "json:any-value")),
  fc.tuple(fc.oneof(badValue, fc.array(badValue, { maxLength: 3 })), asyncHeader).map(([v, h]) =>
    postJson(json({ inputs: v }), h, "json:inputs-not-rows"),
  ),
  fc.tuple(rawJsonText, asyncHeader).map(([text, h]) => postJson(Buffer.from(text), h, "json:raw-text")),
  // A valid body with a bad header: would be queued if headers were checked after submitting.
  fc.tuple(validRow, fc.string({ maxLength: 20 }).filter((s) => /^[\x21-\x7e]*$/.test(s) && !["true", "false"].includes(s.trim().toLowerCase()))).map(
    ([row, mode]) => postJson(json({ input: row }), { "Async-Mode": mode || "maybe" }, "json:bad-async-header"),
  ),
  fc.tuple(validRow, fc.integer({ min: 256, max: 4000 })).map(([row, n]) =>
    postJson(json({ input: row }), { "Async-Mode": "true", "Idempotency-Key": "k".repeat(n) }, "json:long-idempotency-key"),
  ),
);

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-16",
  "application/json; charset=bogus",
  "application/vnd.api+json",
  "text/plain",
  "text/csv",
  "application/xml",
  "application/octet-stream",
  "multipart/form-data",
  "multipart/form-data; boundary=xyz",
  "application/x-www-form-urlencoded",
  "image/png",
  "garbage",
  "",
];

const randomBodies: fc.Arbitrary<Req> = fc
  .tuple(fc.uint8Array({ maxLength: 3000 }), fc.constantFrom(...CONTENT_TYPES), fc.constantFrom("", "", "gzip", "deflate", "br", "zstd"))
  .map(([bytes, type, encoding]) => ({
    kind: `bytes:${type.split(";")[0] || "none"}${encoding ? `+${encoding}` : ""}`,
    method: "POST",
    path: "/predict",
    headers: { ...(type ? { "Content-Type": type } : {}), ...(encoding ? { "Content-Encoding": encoding } : {}) },
    body: Buffer.from(bytes),
  }));

const BOUNDARY = "----irisfuzz7MA4YWxkTrZu0gW";
const HEADER = FEATURES.join(",");
function multipart(parts: Array<{ name: string; filename?: string; content: Buffer | string }>): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ""}`;
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: text/csv\r\n\r\n`));
    chunks.push(Buffer.isBuffer(p.content) ? p.content : Buffer.from(p.content));
    chunks.push(Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}
const csvLine = (row: Record<string, unknown>) => FEATURES.map((f) => (f in row ? String(row[f]) : "")).join(",");
const csvCell = fc.oneof(
  fc.constantFrom("NaN", "Infinity", "-Infinity", "1e999", "0", "-1", "11", "", "abc", '"', "5,1", "0x5", "1e-400", "\u0000"),
  fc.string({ maxLength: 12 }),
);
/** A CSV cell that is not a valid measurement (the CSV path accepts plain decimal strings). */
const badCell = csvCell.filter((c) => {
  const v = c.trim();
  return !(/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(v) && Number(v) > 0 && Number(v) <= 10);
});
const badCsv: fc.Arbitrary<string | Buffer> = fc.oneof(
  fc.tuple(fc.array(validRow, { maxLength: 5 }), validRow, fc.constantFrom(...FEATURES), badCell, fc.array(validRow, { maxLength: 5 })).map(
    ([a, row, field, cell, b]) => [HEADER, ...a.map(csvLine), csvLine({ ...row, [field]: cell }), ...b.map(csvLine)].join("\n") + "\n",
  ),
  fc.tuple(fc.array(badKey, { minLength: 1, maxLength: 6 }), validRow).map(([cols, row]) => `${cols.join(",")}\n${csvLine(row)}\n`),
  fc.tuple(fc.integer({ min: MAX_ROWS + 1, max: MAX_ROWS + 30 }), validRow).map(([n, row]) => `${HEADER}\n${`${csvLine(row)}\n`.repeat(n)}`),
  fc.constantFrom("", "\n\n", HEADER, `${HEADER}\n`, `${HEADER}\n1,2,3\n`, `${HEADER}\n1,2,3,4,5\n`, `${HEADER}\n"1,2,3,4\n`, `${HEADER},${HEADER}\n1,1,1,1,1,1,1,1\n`),
  fc.uint8Array({ maxLength: 500 }).map((b) => Buffer.from(b)),
);
const csvRequests: fc.Arbitrary<Req> = fc.oneof(
  fc.tuple(badCsv, fc.constantFrom("application/json", "text/html", "*/*")).map(([csv, accept]) => ({
    kind: "csv:bad-file",
    method: "POST",
    path: "/predict",
    headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}`, Accept: accept },
    body: multipart([{ name: "file", filename: "f.csv", content: csv }]),
  })),
  fc.tuple(validRow, badKey).map(([row, name]) => ({
    kind: "csv:wrong-field",
    method: "POST",
    path: "/predict",
    headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipart([{ name: name === "file" || name === "" ? "upload" : name.replace(/["\r\n]/g, "_") || "x", filename: "f.csv", content: `${HEADER}\n${csvLine(row)}\n` }]),
  })),
  fc.tuple(validRow, validRow).map(([a, b]) => ({
    kind: "csv:two-files",
    method: "POST",
    path: "/predict",
    headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}` },
    body: multipart([
      { name: "file", filename: "a.csv", content: `${HEADER}\n${csvLine(a)}\n` },
      { name: "file", filename: "b.csv", content: `${HEADER}\n${csvLine(b)}\n` },
    ]),
  })),
);

const queryRequests: fc.Arbitrary<Req> = fc
  .tuple(validRow, fc.constantFrom(...FEATURES), fc.nat(3), badCell, badKey)
  .map(([row, field, how, value, key]) => {
    const params = new URLSearchParams(Object.entries(row).map(([k, v]) => [k, String(v)]));
    if (how === 0) params.set(field, value);
    else if (how === 1) params.delete(field);
    else if (how === 2) params.append(field, "1");
    else params.append(key === "Submit" || key === "" ? "colour" : key, "1");
    return { kind: "query", method: "GET", path: `/predict?${params}`, headers: {} };
  });

const oddId = fc.oneof(
  fc.string({ maxLength: 60 }).map(encodeURIComponent),
  fc.constantFrom("..%2F..%2Fetc%2Fpasswd", "%00", "null", "undefined", "0", "-1", "%E2%80%AE", "a".repeat(5000), "{id}", "%7B%7D"),
  fc.uuid({ version: 1 }),
  fc.uuid({ version: 4 }).map((u) => u.toUpperCase().replace(/-/g, "")),
  fc.uuid({ version: 4 }), // well-formed but unknown: 404
);
const idRequests: fc.Arbitrary<Req> = fc.tuple(oddId, fc.constantFrom("GET", "DELETE", "HEAD")).map(([id, method]) => ({
  kind: `id:${method}`,
  method,
  path: `/predict/${id}`,
  headers: { Accept: "application/json" },
}));
const jobQueryRequests: fc.Arbitrary<Req> = fc.tuple(oddId, fc.constantFrom("/progress", "/result")).map(([id, path]) => ({
  kind: `jobid:${path}`,
  method: "GET",
  path: `${path}?jobid=${id}`,
  headers: {},
}));

const ODD_METHODS = ["PUT", "PATCH", "DELETE", "POST", "PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "PURGE", "REPORT", "MERGE", "NOTIFY", "SUBSCRIBE", "LINK", "UNLINK", "TRACE", "FOO", "GETT"];
const methodRequests: fc.Arbitrary<Req> = fc
  .tuple(fc.constantFrom(...ODD_METHODS), fc.constantFrom("/predict", "/predict/ID", "/api/model", "/openapi.json", "/progress", "/result", "/docs"), fc.uuid({ version: 4 }))
  .filter(([m, p]) => !(m === "POST" && p === "/predict") && !(m === "DELETE" && p === "/predict/ID"))
  .map(([method, path, id]) => ({
    kind: `method:${method}`,
    method,
    path: path.replace("ID", id),
    headers: { "Content-Type": "application/json" },
    body: json({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } }),
  }));

const allRequests = fc.oneof(
  { weight: 6, arbitrary: jsonRequests },
  { weight: 3, arbitrary: randomBodies },
  { weight: 3, arbitrary: csvRequests },
  { weight: 2, arbitrary: queryRequests },
  { weight: 2, arbitrary: idRequests },
  { weight: 1, arbitrary: jobQueryRequests },
  { weight: 2, arbitrary: methodRequests },
);

/** A few bodies over the size limits (expensive, so not left to chance). */
function oversized(): Req[] {
  const big = Buffer.from(JSON.stringify({ inputs: Array(60_000).fill({ sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 }) }));
  const bigCsv = Buffer.from(`${HEADER}\n${"5.1,3.5,1.4,0.2\n".repeat(400_000)}`);
  return [
    ...Array.from({ length: 5 }, () => postJson(big, {}, "oversized:json")),
    ...Array.from({ length: 3 }, () => ({
      kind: "oversized:csv",
      method: "POST",
      path: "/predict",
      headers: { "Content-Type": `multipart/form-data; boundary=${BOUNDARY}` },
      body: multipart([{ name: "file", filename: "big.csv", content: bigCsv }]),
    })),
    ...Array.from({ length: 3 }, () => ({
      kind: "oversized:text",
      method: "POST",
      path: "/predict",
      headers: { "Content-Type": "text/plain" },
      body: Buffer.alloc(2 * 1024 * 1024, 0x41),
    })),
  ];
}

// ---- client -----------------------------------------------------------------------------------

interface Reply {
  status: number;
  contentType: string | undefined;
  text: string;
}

function send(base: URL, agent: Agent, r: Req): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, ...(r.body ? { "Content-Length": String(r.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode!, contentType: res.headers["content-type"], text: Buffer.concat(chunks).toString() }),
        );
        res.on("error", reject);
      },
    );
    // The server may answer (413) and close before reading the whole body: that is an answer.
    req.on("error", reject);
    req.end(r.body);
  });
}

// ---- the test ---------------------------------------------------------------------------------

describe(`fuzz: ${RUNS} generated bad requests (seed ${SEED}) on RabbitMQ + Redis`, () => {
  let t: RealApp;
  let doc: OpenApiChecker;
  let agent: Agent;
  const statuses = new Map<number, number>();

  before(async () => {
    t = await realApp({ MAX_BATCH_ROWS: String(MAX_ROWS) });
    doc = await openApiChecker(await (await fetch(`${t.base}/openapi.json`)).json());
    agent = new Agent({ keepAlive: true, maxSockets: 8 });
  });
  after(async () => {
    agent.destroy();
    await t.close();
  });

  it("answers every one with a 4xx that matches the contract, and queues nothing", async () => {
    const requests = [...fc.sample(allRequests, { numRuns: RUNS, seed: SEED }), ...oversized()];
    assert.ok(requests.length >= 5000);
    const base = new URL(t.base);
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    let next = 0;
    const started = Date.now();
    const workerLoop = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const r = requests[i]!;
        kinds.set(r.kind.split(":")[0]!, (kinds.get(r.kind.split(":")[0]!) ?? 0) + 1);
        let reply: Reply;
        try {
          reply = await send(base, agent, r);
        } catch (err) {
          // Only a server that hung up on an oversized upload is allowed to end a request early.
          if (r.kind.startsWith("oversized")) continue;
          failures.push(`#${i} ${r.kind} ${r.method} ${r.path.slice(0, 80)}: no answer (${(err as Error).message})`);
          continue;
        }
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const where = `#${i} ${r.kind} ${r.method} ${r.path.slice(0, 80)} → ${reply.status}`;
        if (reply.status < 400 || reply.status >= 500) {
          failures.push(`${where}: ${reply.text.slice(0, 200)} body=${r.body?.subarray(0, 120).toString()}`);
          continue;
        }
        if (/at [^\n]+\.(ts|js):\d+/.test(reply.text)) failures.push(`${where}: a stack trace reached the client`);
        if (r.method === "HEAD" || !reply.contentType?.includes("json")) continue;
        try {
          doc.check({ method: r.method, path: r.path, status: reply.status, contentType: reply.contentType, body: JSON.parse(reply.text) });
        } catch (err) {
          failures.push(`${where}: ${(err as Error).message.slice(0, 300)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, workerLoop));
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `fuzz: ${requests.length} requests in ${seconds.toFixed(1)} s; by kind ${JSON.stringify(Object.fromEntries(kinds))}; ` +
        `statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}; ${doc.checked} JSON bodies validated`,
    );
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} bad answers`);
    for (const status of statuses.keys()) assert.ok(status >= 400 && status < 500, `status ${status}`);
    assert.ok(statuses.get(405) && statuses.get(413) && statuses.get(415) && statuses.get(404), "the fuzz reached 404, 405, 413 and 415");

    assert.equal((await t.queue.stats()).messages, 0, "nothing was queued");
    assert.deepEqual(await t.keys("job"), [], "no job was created");
    assert.deepEqual(await t.keys("idem"), [], "no idempotency key was claimed");
  });

  it("is healthy afterwards: it still predicts, and still queues a valid job", async () => {
    const sync = await fetch(`${t.base}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ input: { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.8, petal_width: 2.2 } }),
    });
    assert.equal(sync.status, 200);
    assert.equal(((await sync.json()) as { result: string }).result, "virginica");
    const queued = await fetch(`${t.base}/predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Async-Mode": "true", "Idempotency-Key": randomUUID() },
      body: JSON.stringify({ input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 } }),
    });
    assert.equal(queued.status, 202);
    // The "nothing queued" check above can fail: a valid job does show up in the same places.
    assert.equal((await t.queue.stats()).messages, 1);
    assert.equal((await t.keys("job")).length, 1);
  });
});
