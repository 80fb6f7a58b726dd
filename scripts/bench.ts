// npm run bench: the end-to-end benchmark on the real stack (not part of npm test).
// BENCH_REPS (3), BENCH_JOBS (2000), BENCH_WORKERS ("1,2,4"), BENCH_IN_FLIGHT (32).
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import autocannon from "autocannon";
import { computeCeiling } from "./bench/compute.js";
import { median, percentile, runLoad } from "./bench/client.js";
import { acquireServices, startBareKoa, startBenchStack } from "./bench/stack.js";

const REPS = Number(process.env.BENCH_REPS ?? 3);
const JOBS = Number(process.env.BENCH_JOBS ?? 2000);
const WORKERS = (process.env.BENCH_WORKERS ?? "1,2,4").split(",").map(Number);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 32);
const SYNC_SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 5);

async function reqPerSec(url: string): Promise<number> {
  const result = await autocannon({ url, connections: 32, pipelining: 1, duration: SYNC_SECONDS });
  if (result.non2xx || result.errors)
    throw new Error(`autocannon: ${result.non2xx} non-2xx, ${result.errors} errors on ${url}`);
  return result.requests.average;
}

type Rep = Record<string, number>;
const reps: Rep[] = [];
const services = acquireServices();
try {
  for (let rep = 1; rep <= REPS; rep++) {
    const r: Rep = {};
    const ceiling = await computeCeiling();
    r.compute_reports_per_s = ceiling.reportsPerSec;
    r.compute_median_ms = ceiling.medianMs;
    for (const w of WORKERS) {
      const stack = await startBenchStack({ ...services, workers: w });
      try {
        await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 100, inFlight: IN_FLIGHT }); // warm-up
        const load = await runLoad({
          base: stack.base,
          redisUrl: services.redisUrl,
          ns: stack.ns,
          total: JOBS,
          inFlight: IN_FLIGHT,
        });
        r[`w${w}_jobs_per_s`] = load.jobsPerSec;
        r[`w${w}_failed`] = load.failed + (load.jobs - load.succeeded - load.failed);
        r[`w${w}_p50_ms_at_${IN_FLIGHT}`] = percentile(load.latencyMs, 50);
        r[`w${w}_p95_ms_at_${IN_FLIGHT}`] = percentile(load.latencyMs, 95);
        r[`w${w}_p99_ms_at_${IN_FLIGHT}`] = percentile(load.latencyMs, 99);
        if (w === 2) {
          const single = await runLoad({
            base: stack.base,
            redisUrl: services.redisUrl,
            ns: stack.ns,
            total: 300,
            inFlight: 1,
          });
          r.w2_failed += single.failed;
          r.p50_ms_at_1 = percentile(single.latencyMs, 50);
          r.p95_ms_at_1 = percentile(single.latencyMs, 95);
          r.p99_ms_at_1 = percentile(single.latencyMs, 99);
          r.socket_p50_ms_at_1 = percentile(single.socketLatencyMs, 50);
          r.socket_p95_ms_at_1 = percentile(single.socketLatencyMs, 95);
          r[`socket_p50_ms_at_${IN_FLIGHT}`] = percentile(load.socketLatencyMs, 50);
          r[`socket_p95_ms_at_${IN_FLIGHT}`] = percentile(load.socketLatencyMs, 95);
          const bare = await startBareKoa();
          try {
            // Alternate so drift on a noisy machine hits both alike.
            r.bare_koa_req_per_s = await reqPerSec(bare.url);
            r.sync_predict_req_per_s = await reqPerSec(
              `${stack.base}/predict?sepal_length=6.7&sepal_width=3.0&petal_length=5.8&petal_width=2.2`,
            );
          } finally {
            await bare.stop();
          }
          const mem = [stack.web, ...stack.workers].map((p) => p.memory());
          r.web_peak_rss_mb = mem[0]!.peakMb;
          stack.workers.forEach((_, i) => (r[`worker${i + 1}_peak_rss_mb`] = mem[i + 1]!.peakMb));
          r.web_plus_2_workers_rss_mb_at_end = mem.reduce((a, m) => a + m.rssMb, 0);
          r.web_plus_2_workers_pss_mb_at_end = mem.reduce((a, m) => a + m.pssMb, 0);
        }
      } finally {
        await stack.stop();
      }
    }
    reps.push(r);
    console.error(`rep ${rep}/${REPS} done`);
  }
} finally {
  services.release();
}

const keys = Object.keys(reps[0]!);
const med: Rep = Object.fromEntries(keys.map((k) => [k, median(reps.map((r) => r[k]!))]));
const ratios = {
  "(a) jobs/s with 2 workers ÷ compute ceiling (≥ 1.3)": med.w2_jobs_per_s! / med.compute_reports_per_s!,
  "(b) p50 at 1 in flight − median render, ms (≤ 5)": med.p50_ms_at_1! - med.compute_median_ms!,
  "(c) sync predict ÷ bare Koa (≥ 0.5)": med.sync_predict_req_per_s! / med.bare_koa_req_per_s!,
  "(d) socket event p95 at 1 in flight, ms (≤ 5)": med.socket_p95_ms_at_1!,
  [`(d) socket event p95 at ${IN_FLIGHT} in flight, ms (≤ 5)`]: med[`socket_p95_ms_at_${IN_FLIGHT}`]!,
  "(e) web + 2 workers RSS at end, MB (≤ 230)": med.web_plus_2_workers_rss_mb_at_end!,
  "(f) failed or lost jobs, all runs (= 0)": reps.reduce(
    (a, r) => a + WORKERS.reduce((b, w) => b + (r[`w${w}_failed`] ?? 0), 0),
    0,
  ),
};
const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1));
console.log(
  `\nIris Report Service benchmark — ${cpus().length} cores, ${REPS} repetitions, ${JOBS} jobs at ${IN_FLIGHT} in flight\n`,
);
console.log("| measure | median | runs |\n| --- | ---: | --- |");
for (const k of keys) console.log(`| ${k} | ${fmt(med[k]!)} | ${reps.map((r) => fmt(r[k]!)).join(", ")} |`);
console.log("\n| target | value |\n| --- | ---: |");
for (const [k, v] of Object.entries(ratios)) console.log(`| ${k} | ${fmt(v)} |`);
mkdirSync("bench-results", { recursive: true });
const file = `bench-results/bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
writeFileSync(
  file,
  JSON.stringify({ reps, medians: med, ratios, config: { REPS, JOBS, WORKERS, IN_FLIGHT } }, null, 2),
);
console.log(`\nraw figures: ${file}`);
