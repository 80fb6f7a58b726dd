import { createMemoryStore } from "../../tasks/store/memory.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import { testRedis, uniqueName } from "../helpers/services.js";
import { describeJobStore } from "./job-store.contract.js";

describeJobStore("memory", async (ttlSeconds) => createMemoryStore({ ttlSeconds }));

describeJobStore("redis", async (ttlSeconds) =>
  createRedisStore({ client: testRedis(), subscriber: testRedis(), ttlSeconds, prefix: uniqueName("store") }),
);
