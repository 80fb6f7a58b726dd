// (c) Kill every Redis client connection mid-run → all jobs still succeed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { testRedis } from "../helpers/services.js";
import { startStack, succeededBy } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait-for.js";

describe("fault: every Redis connection is dropped mid-run", () => {
  it("reconnects by itself and finishes every job", async () => {
    const stack = await startStack({ workers: 0 });
    const admin = testRedis();
    try {
      const ids: string[] = [];
      for (let i = 0; i < 150; i++) ids.push(await stack.submitOk());
      const worker = await stack.addWorker();
      await stack.addWorker();
      await waitFor(() => succeededBy(worker).length >= 10, { what: "work to start" });
      // Kill everyone but ourselves: the web's and workers' command and pub/sub connections.
      const killed =
        Number(await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")) +
        Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes"));
      assert.ok(killed >= 6, `killed ${killed} connections (web + 2 workers × 2)`);
      const counts = await stack.waitAllFinal(ids, 60_000);
      assert.deepEqual(counts, { SUCCESS: 150 });
      assert.equal(stack.pdfs().length, 150);
      // And the web still serves new submissions end to end.
      const late = await stack.submitOk();
      assert.deepEqual(await stack.waitAllFinal([late]), { SUCCESS: 1 });
      console.log(`# redis drop: killed ${killed} connections; submitted 151, succeeded 151, lost 0`);
    } finally {
      admin.disconnect();
      await stack.stop();
    }
  });
});
