// Hostile input against a real web process (RabbitMQ + Redis): oversized and pathological bodies
// are refused as soon as a limit is crossed, while /healthz keeps answering promptly, the
// process survives, and no temporary file stays behind.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";

const HEADER = "sepal_length,sepal_width,petal_length,petal_width\n";

/** Sends a body (as one buffer, or in chunks without a length) and resolves with the answer and its time. */
function send(
  port: number,
  opts: { headers: Record<string, string>; body?: Buffer; chunks?: () => Iterable<Buffer> },
): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/predict", headers: opts.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, text: Buffer.concat(parts).toString(), ms: performance.now() - started }));
    });
    // The server may drop the connection once it has answered a client that keeps sending.
    let answered = false;
    req.on("response", () => (answered = true));
    req.on("error", (err) => (answered ? undefined : reject(err)));
    if (opts.body) {
      req.end(opts.body);
      return;
    }
    void (async () => {
      for (const chunk of opts.chunks!()) {
        if (req.destroyed) return;
        if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
      }
      req.end();
    })();
  });
}

function multipart(parts: Array<{ name: string; filename?: string; data: Buffer | string }>): { body: Buffer; type: string } {
  const boundary = "----iris-hostile-boundary";
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ""}`;
    const type = p.filename ? "Content-Type: text/csv\r\n" : "";
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), Buffer.from(p.data), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

/** Polls /healthz every 20 ms while `work` runs; returns the slowest answer in ms. */
async function healthzDuring<T>(port: number, work: () => Promise<T>): Promise<{ result: T; slowestMs: number; probes: number }> {
  let running = true;
  let slowestMs = 0;
  let probes = 0;
  const poller = (async () => {
    while (running) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.arrayBuffer();
      assert.equal(res.status, 200);
      slowestMs = Math.max(slowestMs, performance.now() - started);
      probes++;
      await new Promise((r) => setTimeout(r, 20)); // probe pacing, not synchronisation
    }
  })();
  let result: T;
  try {
    result = await work();
  } finally {
    running = false;
    await poller; // the probe in flight is counted too
  }
  return { result, slowestMs, probes };
}

describe("hostile input on a real web process", () => {
  const ns = uniqueName("hostile");
  const uploads = mkdtempSync(join(tmpdir(), "iris-hostile-tmp-"));
  let web: ServiceProcess;
  let port = 0;

  before(async () => {
    const { redisUrl, rabbitUrl } = realServices();
    port = await freePort();
    web = await startProcess(
      "app/main.ts",
      {
        RABBITMQ_URL: rabbitUrl,
        REDIS_URL: redisUrl,
        IRIS_NAMESPACE: ns,
        RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-hostile-")),
        PORT: String(port),
        HOST: "127.0.0.1",
        TMPDIR: uploads,
      },
      { readyMsg: "web ready" },
    );
  });
  after(async () => {
    const code = await web.stop();
    await deleteQueues(`${ns}.jobs`);
    assert.equal(code, 0, "the web process exits cleanly: it survived every request");
  });

  const cases: Array<{ what: string; status: number; message: RegExp; request: () => Parameters<typeof send>[1] }> = [
    {
      what: "a 5 MB CSV of 2.5 million one-character lines, sent as the form",
      status: 400,
      message: /at least 100 problems/,
      request: () => {
        const m = multipart([{ name: "file", filename: "f.csv", data: HEADER + "1\n".repeat(2_500_000) }]);
        return { headers: { "Content-Type": m.type, Accept: "text/html" }, body: m.body };
      },
    },
    {
      what: "a 2 MB CSV of 130,000 good rows (the row limit is 10,000)",
      status: 413,
      message: /at most 10000 rows/,
      request: () => {
        const m = multipart([{ name: "file", filename: "f.csv", data: HEADER + "5.1,3.5,1.4,0.2\n".repeat(130_000) }]);
        return { headers: { "Content-Type": m.type, Accept: "application/json" }, body: m.body };
      },
    },
    {
      what: "a CSV of one 4 MB line",
      status: 400,
      message: /too long/,
      request: () => {
        const m = multipart([{ name: "file", filename: "f.csv", data: HEADER + "1".repeat(4 * 1024 * 1024) }]);
        return { headers: { "Content-Type": m.type }, body: m.body };
      },
    },
    {
      what: "a 40 MB upload without a Content-Length (chunked)",
      status: 413,
      message: /too large|at most 10000 rows/,
      request: () => {
        const m = multipart([{ name: "file", filename: "f.csv", data: "" }]);
        const head = m.body.subarray(0, m.body.indexOf("\r\n--", 10));
        return {
          headers: { "Content-Type": m.type, "Transfer-Encoding": "chunked" },
          chunks: function* () {
            yield head;
            yield Buffer.from(HEADER);
            const block = Buffer.from("5.1,3.5,1.4,0.2\n".repeat(4096));
            for (let i = 0; i < 640; i++) yield block;
          },
        };
      },
    },
    {
      what: "a 10 MB upload that says so in Content-Length",
      status: 413,
      message: /too large/,
      request: () => {
        const m = multipart([{ name: "file", filename: "f.csv", data: HEADER + "5.1,3.5,1.4,0.2\n".repeat(650_000) }]);
        return { headers: { "Content-Type": m.type }, body: m.body };
      },
    },
    {
      what: "a multipart body of 51 fields",
      status: 413,
      message: /too many fields/,
      request: () => {
        const m = multipart(Array.from({ length: 51 }, (_, i) => ({ name: `f${i}`, data: "1" })));
        return { headers: { "Content-Type": m.type }, body: m.body };
      },
    },
    {
      what: "a form of 500 fields",
      status: 413,
      message: /too many fields/,
      request: () => ({
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: Buffer.from(Array.from({ length: 500 }, (_, i) => `f${i}=1`).join("&")),
      }),
    },
    {
      what: "a form over its byte limit",
      status: 413,
      message: /too large/,
      request: () => ({ headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: Buffer.from(`a=${"x".repeat(100_000)}`) }),
    },
    {
      what: "2 MB of nested JSON arrays",
      status: 400,
      message: /nested too deeply/,
      request: () => ({ headers: { "Content-Type": "application/json" }, body: Buffer.from("[".repeat(1_000_000) + "]".repeat(1_000_000)) }),
    },
    {
      what: "1.9 MB of empty JSON objects in a batch",
      status: 413,
      message: /more values than a batch/,
      request: () => ({
        headers: { "Content-Type": "application/json", "Async-Mode": "true" },
        body: Buffer.from(`{"inputs":[${"{},".repeat(650_000)}{}]}`),
      }),
    },
    {
      what: "a 3 MB JSON body",
      status: 413,
      message: /too large/,
      request: () => ({ headers: { "Content-Type": "application/json" }, body: Buffer.from(`{"input":"${"x".repeat(3 * 1024 * 1024)}"}`) }),
    },
  ];

  for (const c of cases) {
    it(`refuses ${c.what} (${c.status}) while /healthz keeps answering`, async () => {
      const body = c.request(); // built before the probes start: the client's own work is not measured
      const { result, slowestMs, probes } = await healthzDuring(port, () => send(port, body));
      assert.equal(result.status, c.status, result.text.slice(0, 300));
      assert.match(result.text, c.message);
      assert.doesNotMatch(result.text, /at .*\.(ts|js):\d+/, "no stack trace");
      assert.ok(slowestMs < 500, `the slowest /healthz took ${slowestMs.toFixed(0)} ms during the upload (${probes} probes)`);
      console.log(`# ${c.what}: ${result.status} in ${result.ms.toFixed(0)} ms; slowest /healthz ${slowestMs.toFixed(1)} ms of ${probes}`);
      assert.deepEqual(readdirSync(uploads), [], "no temporary file left behind");
    });
  }

  it("still serves a good upload afterwards", async () => {
    const m = multipart([{ name: "file", filename: "f.csv", data: HEADER + "5.1,3.5,1.4,0.2\n6.7,3.0,5.8,2.2\n" }]);
    const res = await send(port, { headers: { "Content-Type": m.type }, body: m.body });
    assert.equal(res.status, 202, res.text);
  });
});
