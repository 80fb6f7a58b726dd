// RSS (anonymous + file-backed) of the web and 2 workers, idle and after 1,000 jobs.
import { readFileSync } from "node:fs";
import { acquireServices, startBenchStack } from "./stack.js";
import { runLoad } from "./client.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2 });
const kb = (pid: number, key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const show = (label: string) =>
  console.log(
    label,
    [stack.web, ...stack.workers]
      .map((p) => `rss ${kb(p.child.pid!, "VmRSS").toFixed(0)} (anon ${kb(p.child.pid!, "RssAnon").toFixed(0)}, file ${kb(p.child.pid!, "RssFile").toFixed(0)})`)
      .join(" | "),
  );
show("idle MB (web | w1 | w2):");
await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 1000, inFlight: 32 });
show("after 1000 jobs:");
await stack.stop();
services.release();
