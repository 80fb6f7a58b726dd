// RSS (anonymous + file-backed) of the web and 2 workers, idle and after 1,000 jobs.
import { acquireServices, startBenchStack } from "./stack.js";
import { runLoad } from "./client.js";
const services = acquireServices();
const stack = await startBenchStack({ ...services, workers: 2 });
const show = (label: string) =>
  console.log(
    label,
    [stack.web, ...stack.workers]
      .map((p) => p.memory())
      .map((m) => `rss ${m.rssMb.toFixed(0)} (anon ${m.anonMb.toFixed(0)}, file ${m.fileMb.toFixed(0)})`)
      .join(" | "),
  );
show("idle MB (web | w1 | w2):");
await runLoad({ base: stack.base, redisUrl: services.redisUrl, ns: stack.ns, total: 1000, inFlight: 32 });
show("after 1000 jobs:");
await stack.stop();
services.release();
