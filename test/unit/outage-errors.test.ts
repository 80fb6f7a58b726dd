import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Redis } from "ioredis";
import { isStoreOutage } from "../../tasks/store/outage-errors.js";
import { freePort } from "../helpers/processes.js";

describe("isStoreOutage", () => {
  it("recognises what ioredis really throws when nothing listens (offline queue given up, command timeout)", async () => {
    const port = await freePort();
    const client = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on("error", () => {});
    const timing = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: null, commandTimeout: 100, retryStrategy: () => 50 });
    timing.on("error", () => {});
    const errors = await Promise.all([client.get("k").catch((e: Error) => e), timing.get("k").catch((e: Error) => e)]);
    client.disconnect();
    timing.disconnect();
    assert.deepEqual(
      errors.map((e) => (e as Error).message.slice(0, 25)),
      ["Reached the max retries p", "Command timed out"],
    );
    for (const err of errors) assert.ok(isStoreOutage(err), String(err));
  });

  it("recognises socket codes, the client's other words and the server's 'not now' replies", () => {
    const outages = [
      Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }),
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6379"), { code: "ECONNREFUSED" }),
      Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" }),
      Object.assign(new Error("write EPIPE"), { code: "EPIPE" }),
      new Error("Connection is closed."),
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      new Error("Command aborted due to connection close"),
      new Error("LOADING Redis is loading the dataset in memory"),
      new Error("READONLY You can't write against a read only replica."),
      new Error("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
      new Error("BUSY Redis is busy running a script."),
    ];
    for (const err of outages) assert.ok(isStoreOutage(err), err.message);
  });

  it("leaves everything else alone: a job's own errors are not outages", () => {
    const others = [
      new Error("WRONGTYPE Operation against a key holding the wrong kind of value"),
      new Error("ERR Error running script"),
      Object.assign(new Error("no space"), { code: "ENOSPC" }),
      new TypeError("Cannot read properties of undefined"),
      null,
      "a string",
    ];
    for (const err of others) assert.equal(isStoreOutage(err), false, String(err));
  });
});
