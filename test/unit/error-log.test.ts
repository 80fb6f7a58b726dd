import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import Koa from "koa";
import { pino } from "pino";
import request from "supertest";
import { errorHandler } from "../../app/errors.js";
import { requestLog } from "../../app/middleware/request-log.js";
import { QueueFullError, QueueUnavailableError, StoreUnavailableError } from "../../tasks/errors.js";

/** A Koa app (request log, then error handler, as create-app.ts orders them) whose one route throws `err`, logging into the returned lines. */
function appThrowing(err: Error) {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: "info", formatters: { level: (label) => ({ level: label }) } }, sink);
  const app = new Koa();
  app.use(requestLog({ logger }));
  app.use(errorHandler({ logger }));
  app.use(() => {
    throw err;
  });
  return { app, lines };
}

describe("the request's log line when it fails", () => {
  // A 503 told the operator nothing but its status: which dependency refused, and how, was lost
  // (a benchmark run's 34 refused submissions left no line saying why).
  for (const err of [
    new QueueUnavailableError("The job queue did not confirm the job in time."),
    new QueueUnavailableError("The broker refused the job."),
    new StoreUnavailableError(),
    new QueueFullError(5),
  ]) {
    it(`says why it answered 503 (${err.name}: ${err.message})`, async () => {
      const { app, lines } = appThrowing(err);
      const res = await request(app.callback()).post("/predict").set("Accept", "application/json");
      assert.equal(res.status, 503);
      // One line for the request, at warn, with the reason on it.
      assert.equal(lines.length, 1, JSON.stringify(lines));
      const line = lines[0]!;
      assert.equal(line.msg, "request");
      assert.equal(line.status, 503);
      assert.equal(line.level, "warn");
      assert.equal(line.reason, err.message);
      assert.equal(line.error, err.name);
      assert.equal(line.path, "/predict");
      assert.equal(line.stack, undefined);
    });
  }

  it("logs nothing at warn for a refusal that is the client's (400)", async () => {
    const { app, lines } = appThrowing(Object.assign(new Error("bad"), { status: 400, expose: true }));
    const res = await request(app.callback()).post("/predict").set("Accept", "application/json");
    assert.equal(res.status, 400);
    assert.deepEqual(
      lines.map((l) => [l.msg, l.level, l.status, l.reason]),
      [["request", "info", 400, undefined]],
    );
  });
});
