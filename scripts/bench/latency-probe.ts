// Latency at IN_FLIGHT (1) jobs in flight, where the time goes, and the workers' own time per job (from their "job succeeded" log lines).
import { readFileSync } from "node:fs";
import { acquireServices, startBenchStack } from "./stack.js";
import { percentile, runLoad } from "./client.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2 });
await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 50, inFlight: 1 });
const r = await runLoad({
  base: stack.base,
  redisUrl: services.redisUrl,
  ns: stack.ns,
  total: Number(process.env.N ?? 300),
  inFlight: Number(process.env.IN_FLIGHT ?? 1),
});
await stack.stop();
const workerMs = stack.workers
  .flatMap((w) => readFileSync(w.log, "utf8").split("\n"))
  .filter((l) => l.includes('"job succeeded"'))
  .map((l) => JSON.parse(l).ms as number);
console.log(
  `submit → SUCCESS p50 ${percentile(r.latencyMs, 50).toFixed(2)} ms, p95 ${percentile(r.latencyMs, 95).toFixed(2)}; worker's own p50 ${percentile(workerMs, 50)} ms`,
);
// Where the time goes, in the client's clock (the store's Redis feed heard here).
const spans: Record<string, number[]> = {
  "submit → 202": [],
  "submit → validating published": [],
  "validating → saving published": [],
  "saving → done published": [],
  "done published → socket event": [],
};
for (const m of r.marks) {
  const at = (state: string, progress: number) => r.published.get(`${m.id}:${state}:${progress}`);
  const v = at("PROGRESS", 0.1),
    s = at("PROGRESS", 0.9),
    d = at("SUCCESS", 1);
  if (v === undefined || s === undefined || d === undefined) continue;
  spans["submit → 202"]!.push(m.accepted - m.submitted);
  spans["submit → validating published"]!.push(v - m.submitted);
  spans["validating → saving published"]!.push(s - v);
  spans["saving → done published"]!.push(d - s);
  spans["done published → socket event"]!.push(m.final - d);
}
for (const [k, v] of Object.entries(spans)) console.log(`  ${k}: p50 ${percentile(v, 50).toFixed(2)} ms`);
services.release();
