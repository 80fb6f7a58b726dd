// Synchronous predict beside bare Koa, alternating, for profiling the web's request path:
// BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench-results/prof" node --import tsx scripts/bench/sync-probe.ts
import autocannon from "autocannon";
import { runLoad } from "./client.js";
import { cpuSplit } from "./cpu.js";
import { acquireServices, startBareKoa, startBenchStack } from "./stack.js";
const services = acquireServices();
// PRELOAD=N runs N jobs through 2 workers first, as the full benchmark does before its sync test.
// STATUS=1 measures a poll instead: GET /predict/{id} of a finished job (served from the web's cache).
const preload = Number(process.env.PRELOAD ?? 0);
const status = Boolean(process.env.STATUS);
const stack = await startBenchStack({ ...services, workers: preload || status ? 2 : 0 });
if (preload)
  await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: preload, inFlight: 32 });
const job = status
  ? (await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 1, inFlight: 1 })).marks[0]!.id
  : null;
const bare = await startBareKoa();
// With STATUS, also Koa answering the very bytes of a status answer, and /healthz through the whole middleware chain.
const bareStatus = job ? await startBareKoa("status") : null;
/** Requests per second, and the server process's CPU microseconds per request, user + kernel (from /proc). */
const rps = async (url: string, pid: number) => {
  const cpu0 = cpuSplit(pid);
  const r = await autocannon({ url, connections: 32, duration: Number(process.env.SECONDS ?? 4) });
  if (r.non2xx || r.errors) throw new Error(`autocannon: ${r.non2xx} non-2xx, ${r.errors} errors on ${url}`);
  const cpu1 = cpuSplit(pid);
  const us = (s: number) => ((s * 1e6) / r.requests.total).toFixed(1);
  return `${r.requests.average.toFixed(0)} req/s (${us(cpu1.user - cpu0.user)} + ${us(cpu1.kernel - cpu0.kernel)} µs CPU each)`;
};
const web = stack.web.child.pid!;
const predict = `${stack.base}/predict?sepal_length=6.7&sepal_width=3.0&petal_length=5.8&petal_width=2.2`;
for (let i = 0; i < Number(process.env.ROUNDS ?? 2); i++) {
  const line = [`bare Koa ${await rps(bare.url, bare.pid)}`];
  if (job && bareStatus) {
    line.push(`bare Koa with a status answer's bytes ${await rps(bareStatus.url, bareStatus.pid)}`);
    line.push(`/healthz ${await rps(`${stack.base}/healthz`, web)}`);
    line.push(`status ${await rps(`${stack.base}/predict/${job}`, web)}`);
  } else line.push(`sync predict ${await rps(predict, web)}`);
  console.log(line.join(", "));
}
await bareStatus?.stop();
await bare.stop();
await stack.stop();
services.release();
