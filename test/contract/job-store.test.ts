import type { Redis } from "ioredis";
import { createMemoryStore } from "../../tasks/store/memory.js";
import { createRedisStore } from "../../tasks/store/redis.js";
import type { JobStore } from "../../tasks/store/types.js";
import { testRedis, uniqueName } from "../helpers/services.js";
import { describeJobStore } from "./job-store.contract.js";

describeJobStore("memory", async (ttlSeconds, opts) => createMemoryStore({ ttlSeconds, ...opts }));

/** Each Redis store's subscriber connection, so the contract can drop it. */
const subscribers = new WeakMap<JobStore, Redis>();

describeJobStore(
  "redis",
  async (ttlSeconds, opts) => {
    const subscriber = testRedis();
    const store = createRedisStore({ client: testRedis(), subscriber, ttlSeconds, ...opts, prefix: uniqueName("store") });
    subscribers.set(store, subscriber);
    return store;
  },
  // disconnect(true): the socket closes and ioredis reconnects, as after a dropped connection.
  { drop: (store) => subscribers.get(store)!.disconnect(true) },
);
