// Synchronous predict beside bare Koa, alternating, for profiling the web's request path:
// BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench-results/prof" node --import tsx scripts/bench/sync-probe.ts
import autocannon from "autocannon";
import { acquireServices, startBareKoa, startBenchStack } from "./stack.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 0 });
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
