// Idempotency-Key under concurrency on the real RabbitMQ and Redis: an id is only ever answered
// for a job the broker accepted; every JSON answer is checked against /openapi.json.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { openApiChecker, type OpenApiChecker } from "../helpers/openapi.js";
import { realApp, type RealApp } from "../helpers/real-app.js";

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const IN_PROGRESS = "A request with this Idempotency-Key is still being processed; retry shortly.";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { status: number; headers: Headers; body: any };

describe("Idempotency-Key with concurrent submissions (RabbitMQ + Redis)", () => {
  let doc: OpenApiChecker;
  const apps: RealApp[] = [];

  before(async () => {
    const t = await realApp();
    apps.push(t);
    doc = await openApiChecker(await (await fetch(`${t.base}/openapi.json`)).json());
  });
  after(async () => {
    for (const t of apps) await t.close();
  });

  const call = async (t: RealApp, method: string, path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(t.base + path, { method, ...init });
    const body = await res.json();
    doc.check({ method, path, status: res.status, contentType: res.headers.get("content-type") ?? undefined, body });
    return { status: res.status, headers: res.headers, body };
  };
  const submit = (t: RealApp, headers: Record<string, string> = {}) =>
    call(t, "POST", "/predict", {
      headers: { "Content-Type": "application/json", "Async-Mode": "true", ...headers },
      body: JSON.stringify({ input: SETOSA }),
    });
  const assertRetryLater = (a: Answer) => {
    if (a.status === 409) {
      assert.equal(a.headers.get("retry-after"), "1");
      assert.equal(a.body.error, IN_PROGRESS);
    } else {
      assert.equal(a.status, 503, JSON.stringify(a.body));
      assert.ok(Number(a.headers.get("retry-after")) > 0);
    }
  };

  it("with MAX_QUEUE_DEPTH reached, 20 at once with one key: no 202 whose prediction_id then 404s", async (c) => {
    const full = await realApp({ MAX_QUEUE_DEPTH: "1" });
    apps.push(full);
    assert.equal((await submit(full)).status, 202, "fills the queue");
    const key = `full-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => submit(full, { "Idempotency-Key": key })));
    c.diagnostic(`statuses: ${answers.map((a) => a.status).join(" ")}`);
    for (const a of answers) {
      if (a.status === 202) {
        const id = a.body.prediction_id as string;
        const status = await call(full, "GET", `/predict/${id}`);
        assert.notEqual(status.status, 404, `202 with ${id}, which does not exist`);
      }
    }
    assert.deepEqual(
      answers.filter((a) => a.status === 202),
      [],
      "nothing was accepted, so no answer carries an id",
    );
    for (const a of answers) assertRetryLater(a);
    assert.equal((await full.queue.stats()).messages, 1, "nothing more was queued");
    assert.deepEqual(await full.keys("idem"), [], "every refused submission released its claim");
  });

  it("on a working queue, 20 at once with one key make one job; every 202 is its id, the others 409", async (c) => {
    const t = apps[0]!;
    const before = (await t.queue.stats()).messages;
    const key = `ok-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 20 }, () => submit(t, { "Idempotency-Key": key })));
    const accepted = answers.filter((a) => a.status === 202);
    c.diagnostic(`statuses: ${answers.map((a) => a.status).join(" ")}`);
    assert.ok(accepted.length >= 1, `statuses: ${answers.map((a) => a.status).join(" ")}`);
    const ids = new Set(accepted.map((a) => a.body.prediction_id as string));
    assert.equal(ids.size, 1, "one id");
    const [id] = [...ids];
    for (const a of answers.filter((x) => x.status !== 202)) {
      assert.equal(a.status, 409, JSON.stringify(a.body));
      assertRetryLater(a);
    }
    assert.equal((await t.queue.stats()).messages, before + 1, "one message for twenty submissions");
    assert.equal((await call(t, "GET", `/predict/${id}`)).status, 202, "the job exists (queued)");
    const retry = await submit(t, { "Idempotency-Key": key });
    assert.equal(retry.status, 202);
    assert.equal(retry.body.prediction_id, id);
    assert.equal(retry.headers.get("idempotent-replayed"), "true");
  });
});
