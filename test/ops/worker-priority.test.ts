// A worker lowers its own scheduling priority (WORKER_NICE, default 10) so a web process on the
// same host goes first when the CPU is saturated; the web keeps the default.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { getPriority, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startProcess, type ServiceProcess } from "../helpers/processes.js";
import { deleteQueues, realServices, uniqueName } from "../helpers/services.js";

/** The niceness of a process's main thread, from /proc (field 19 of stat). */
function niceOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
}

describe("worker scheduling priority", () => {
  // Children inherit this run's niceness (0 unless CI itself runs under nice).
  const inherited = getPriority();
  const ns = uniqueName("nice");
  const procs: ServiceProcess[] = [];
  let env: Record<string, string>;

  before(async () => {
    const { redisUrl, rabbitUrl } = realServices();
    env = {
      RABBITMQ_URL: rabbitUrl,
      REDIS_URL: redisUrl,
      IRIS_NAMESPACE: ns,
      RESULTS_DIR: mkdtempSync(join(tmpdir(), "iris-nice-")),
      PORT: String(await freePort()),
      HOST: "127.0.0.1",
    };
  });

  after(async () => {
    const codes = await Promise.all(procs.map((p) => p.stop()));
    await deleteQueues(`${ns}.jobs`);
    assert.ok(
      codes.every((c) => c === 0),
      `exit codes ${codes}`,
    );
  });

  it("a worker runs at niceness 10 by default, and says so; the web keeps its own", async () => {
    const web = await startProcess("app/main.ts", env, { readyMsg: "web ready" });
    const worker = await startProcess("tasks/main.ts", env, { readyMsg: "worker ready" });
    procs.push(web, worker);
    assert.equal(niceOf(worker.child.pid!), Math.max(10, inherited));
    assert.equal(worker.logs().find((l) => l.msg === "worker ready")!.nice, 10);
    assert.equal(niceOf(web.child.pid!), inherited);
  });

  it("WORKER_NICE=0 keeps the worker at the web's priority", async () => {
    const worker = await startProcess("tasks/main.ts", { ...env, WORKER_NICE: "0" }, { readyMsg: "worker ready" });
    procs.push(worker);
    assert.equal(niceOf(worker.child.pid!), inherited);
  });
});
