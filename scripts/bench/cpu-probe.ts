// CPU ms per job of every process (from /proc) with W = 2, and RSS/PSS at the end.
// N (1000) jobs at 32 in flight; CLIENT = socket (default), poll, poll-etag or long-poll;
// EXTRA_ENV='{"LOG_LEVEL":"debug"}' sets service variables.
import { acquireServices, startBenchStack } from "./stack.js";
import { runLoad, percentile } from "./client.js";
import { cpuMeter, pidListeningOn } from "./cpu.js";
import type { ClientKind } from "./pollers.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2, env: JSON.parse(process.env.EXTRA_ENV ?? "{}") });
await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 100, inFlight: 32 });
const meter = cpuMeter({
  web: stack.web.child.pid!,
  w1: stack.workers[0]!.child.pid!,
  w2: stack.workers[1]!.child.pid!,
  rabbit: pidListeningOn(services.rabbitUrl),
  redis: pidListeningOn(services.redisUrl),
  bench: process.pid,
});
const N = Number(process.env.N ?? 1000);
const client = (process.env.CLIENT ?? "socket") as ClientKind;
const r = await runLoad({
  base: stack.base,
  redisUrl: services.redisUrl,
  ns: stack.ns,
  total: N,
  inFlight: 32,
  client,
});
const cpu = meter.stop(N);
console.log(
  `${client}: jobs/s ${r.jobsPerSec.toFixed(1)} p50 ${percentile(r.latencyMs, 50).toFixed(1)} wall ${r.seconds.toFixed(2)}s`,
  `machine idle ${cpu.idlePct.toFixed(0)}%`,
  r.poll.requests ? `status requests per job ${(r.poll.requests / N).toFixed(1)}` : "",
);
for (const [k, v] of Object.entries(cpu.perJobMs)) console.log(k, "ms CPU per job:", v.toFixed(2));
const mem = [stack.web, ...stack.workers].map((p) => p.memory());
console.log(
  "RSS (PSS) MB at end (web w1 w2):",
  mem.map((m) => `${m.rssMb.toFixed(1)} (${m.pssMb.toFixed(1)})`).join(" "),
  "sum",
  mem.reduce((a, m) => a + m.rssMb, 0).toFixed(1),
  `(${mem.reduce((a, m) => a + m.pssMb, 0).toFixed(1)})`,
);
await stack.stop();
services.release();
