import { acquireServices, startBenchStack } from "./stack.js";
import { runLoad, percentile } from "./client.js";
import { cpuSeconds, machineSeconds, pidListeningOn } from "./cpu.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2, env: JSON.parse(process.env.EXTRA_ENV ?? "{}") });
await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 100, inFlight: 32 });
const pids: Record<string, number | null> = {
  web: stack.web.child.pid!,
  w1: stack.workers[0]!.child.pid!,
  w2: stack.workers[1]!.child.pid!,
  rabbit: pidListeningOn(services.rabbitUrl),
  redis: pidListeningOn(services.redisUrl),
  bench: process.pid,
};
const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, p ? cpuSeconds(p) : 0]));
const N = Number(process.env.N ?? 1000);
const machine0 = machineSeconds();
const r = await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: N, inFlight: 32 });
const after = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, p ? cpuSeconds(p) : 0]));
const machine1 = machineSeconds();
const idle = machine1.idle - machine0.idle;
const busy = machine1.busy - machine0.busy;
console.log(
  `jobs/s ${r.jobsPerSec.toFixed(1)} p50 ${percentile(r.latencyMs, 50).toFixed(1)} wall ${r.seconds.toFixed(2)}s`,
  `machine idle ${((100 * idle) / (idle + busy)).toFixed(0)}%`,
);
for (const k of Object.keys(pids))
  console.log(k, "ms CPU per job:", (((after[k]! - before[k]!) * 1000) / N).toFixed(2));
console.log(
  "RSS MB at end (web w1 w2):",
  [stack.web, ...stack.workers].map((p) => p.memory().rssMb.toFixed(1)).join(" "),
  "sum",
  [stack.web, ...stack.workers].reduce((a, p) => a + p.memory().rssMb, 0).toFixed(1),
);
await stack.stop();
services.release();
