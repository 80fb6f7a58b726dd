// Synchronous predict beside bare Koa, alternating, for profiling the web's request path:
// BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench-results/prof" node --import tsx scripts/bench/sync-probe.ts
import autocannon from "autocannon";
import { runLoad } from "./client.js";
import { acquireServices, startBareKoa, startBenchStack } from "./stack.js";
const services = acquireServices();
// PRELOAD=N runs N jobs through 2 workers first, as the full benchmark does before its sync test.
const preload = Number(process.env.PRELOAD ?? 0);
const stack = await startBenchStack({ ...services, workers: preload ? 2 : 0 });
if (preload)
  await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: preload, inFlight: 32 });
const bare = await startBareKoa();
const rps = async (url: string) =>
  (await autocannon({ url, connections: 32, duration: Number(process.env.SECONDS ?? 4) })).requests.average;
const predict = `${stack.base}/predict?sepal_length=6.7&sepal_width=3.0&petal_length=5.8&petal_width=2.2`;
for (let i = 0; i < Number(process.env.ROUNDS ?? 2); i++) {
  const b = await rps(bare.url);
  const p = await rps(predict);
  console.log(`bare Koa ${b.toFixed(0)} req/s, sync predict ${p.toFixed(0)} req/s, ratio ${(p / b).toFixed(2)}`);
}
await bare.stop();
await stack.stop();
services.release();
