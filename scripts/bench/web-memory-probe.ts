// The web's memory after each phase of the benchmark's W=2 sequence: PSS, anonymous RSS and V8's own
// figures from /metrics, to see which phase grows it and whether it is heap or native memory.
// SNAPSHOT=1 EXTRA_ENV='{"NODE_OPTIONS":"--heapsnapshot-signal=SIGUSR2"}' ends with a heap snapshot
// (written to the working directory), which collects garbage first: what is left is what is live.
import { readdirSync } from "node:fs";
import autocannon from "autocannon";
import { waitFor } from "../../test/helpers/wait-for.js";
import { acquireServices, startBenchStack } from "./stack.js";
import { runLoad } from "./client.js";
import type { ClientKind } from "./pollers.js";

const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2, env: JSON.parse(process.env.EXTRA_ENV ?? "{}") });
const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, "m").exec(text)?.[1] ?? NaN) / 2 ** 20;
async function show(label: string) {
  const text = await (await fetch(`${stack.base}/metrics`)).text();
  const m = stack.web.memory();
  console.log(
    label.padEnd(22),
    `pss ${m.pssMb.toFixed(1)} rss ${m.rssMb.toFixed(1)} anon ${m.anonMb.toFixed(1)}`,
    `| heap used ${metric(text, "nodejs_heap_size_used_bytes").toFixed(1)} total ${metric(text, "nodejs_heap_size_total_bytes").toFixed(1)}`,
    `external ${metric(text, "nodejs_external_memory_bytes").toFixed(1)}`,
    `| workers pss ${stack.workers.map((w) => w.memory().pssMb.toFixed(1)).join(" ")}`,
  );
}
const N = Number(process.env.N ?? 2000);
const SETTLE_MS = Number(process.env.SETTLE_MS ?? 3000);
const load = (total: number, client: ClientKind) =>
  runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total, inFlight: 32, client });
try {
  await show("idle");
  await load(100, "socket");
  await show("after warm-up");
  for (const kind of ["socket", "poll", "poll-etag", "long-poll"] as const) {
    await load(N, kind);
    await show(`after ${kind}`);
  }
  await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 300, inFlight: 1 });
  await show("after 300 at 1");
  const q = "sepal_length=6.7&sepal_width=3.0&petal_length=5.8&petal_width=2.2";
  const ac = await autocannon({ url: `${stack.base}/predict?${q}`, connections: 32, duration: 5 });
  console.log(`sync predict: ${ac.requests.total} requests, ${ac.non2xx} non-2xx, ${ac.errors} errors`);
  await show("after sync predict");
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  await show(`${SETTLE_MS / 1000} s later`);
  if (process.env.SNAPSHOT) {
    // --heapsnapshot-signal in the web's NODE_OPTIONS: a snapshot collects garbage first, so the
    // figures after it are what is live.
    const before = new Set(readdirSync("."));
    stack.web.child.kill("SIGUSR2");
    const file = await waitFor(() => readdirSync(".").find((f) => f.endsWith(".heapsnapshot") && !before.has(f)), {
      timeoutMs: 120_000,
      what: "snapshot",
    });
    // The web writes the snapshot synchronously: /metrics answers once it is written.
    await show(`after GC (${file})`);
  }
} finally {
  await stack.stop();
  services.release();
}
