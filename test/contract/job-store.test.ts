import { createMemoryStore } from "../../tasks/store/memory.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import { testRedis, uniqueName } from "../helpers/services.js";
import { describeJobStore } from "./job-store.contract.js";

describeJobStore("memory", async (ttlSeconds, opts) => createMemoryStore({ ttlSeconds, ...opts }));

describeJobStore("redis", async (ttlSeconds, opts) =>
  createRedisStore({ client: testRedis(), subscriber: testRedis(), ttlSeconds, ...opts, prefix: uniqueName("store") }),
);
