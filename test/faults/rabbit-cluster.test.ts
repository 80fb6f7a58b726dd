// A RabbitMQ cluster (issue 15 item 4): three nodes of the test's own, RABBITMQ_URL listing all
// three, `<ns>.jobs` a quorum queue with a member on each. The node that leads the queue is
// SIGKILLed while jobs are submitted and run: no accepted job is lost, submissions are accepted
// again within seconds, and the consumers carry on from the surviving nodes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startRabbitCluster, type RabbitCluster } from "../helpers/rabbit-cluster.js";
import { startStack, type Stack } from "../helpers/stack.js";
import { startSubmitLoad } from "../helpers/submit-load.js";
import { waitFor } from "../helpers/wait-for.js";

const FLOWER = { sepal_length: 5.9, sepal_width: 3, petal_length: 4.2, petal_width: 1.5 };
const SUBMITTERS = 4;

describe("fault: the RabbitMQ node leading the job queue is killed under load (3-node cluster)", () => {
  let cluster: RabbitCluster;
  let stack: Stack;

  before(async () => {
    cluster = await startRabbitCluster(3);
    stack = await startStack({
      workers: 2,
      kind: "cluster",
      env: { RABBITMQ_URL: cluster.urls, WORKER_CONCURRENCY: "4" },
    });
  });
  after(async () => {
    await stack?.stop().catch(() => {});
    await cluster?.close();
  });

  it("loses no accepted job and accepts submissions again within seconds", async () => {
    const queue = `${stack.ns}.jobs`;
    const members = await cluster.ctl(["list_queues", "name", "members", "--quiet", "--no-table-headers"]);
    const line = members.split("\n").find((l) => l.startsWith(`${queue}\t`)) ?? "";
    for (const node of cluster.nodes) assert.ok(line.includes(node.name), `${queue} has a member on ${node.name}: ${line}`);

    const load = startSubmitLoad(stack.base, FLOWER, SUBMITTERS);
    const { accepted, answers } = load;
    let killedAt = Infinity;
    try {
      await waitFor(() => accepted.length >= 80, { timeoutMs: 30_000, intervalMs: 10, what: "80 jobs accepted before the kill" });
      const leader = await cluster.leaderOf(queue);
      killedAt = Date.now();
      await cluster.kill(leader);
      await waitFor(() => accepted.filter((a) => a.at > killedAt).length >= 80, {
        timeoutMs: 60_000,
        intervalMs: 10,
        what: "80 jobs sent after the kill accepted",
      }).catch((err: Error) => {
        const warnings = [stack.web, ...stack.workers].flatMap((p) =>
          p.logs().filter((l) => l.level !== "info" && l.level !== "debug" || /rabbitmq/.test(String(l.msg))).slice(-12),
        );
        throw new Error(
          `${err.message}: killed ${leader.name} (first URL ${cluster.nodes[0]!.name}); ` +
            `${accepted.filter((a) => a.at > killedAt).length} accepted since, answers ${JSON.stringify(answers)}, the last refusal ${JSON.stringify(load.lastRefusal())}; ` +
            `logs: ${JSON.stringify(warnings)}`,
        );
      });
      await load.stop();
      const firstAfter = Math.min(...accepted.filter((a) => a.at > killedAt).map((a) => a.at));
      const counts = await stack.waitAllFinal(accepted.map((a) => a.id), 90_000);
      const newLeader = await cluster.leaderOf(queue);
      // Every process dialled the first URL; when that node led the queue, they all had to fail over.
      const reconnected = [stack.web, ...stack.workers].map(
        (p) => p.logs().filter((l) => l.msg === "rabbitmq connected").length > 1,
      );
      console.log(
        `# rabbitmq cluster: killed ${leader.name} (the queue's leader); ${accepted.length} accepted ` +
          `(${accepted.filter((a) => a.at <= killedAt).length} sent before the kill), ${counts.SUCCESS ?? 0} succeeded, ` +
          `${accepted.length - (counts.SUCCESS ?? 0)} lost; answers ${JSON.stringify(answers)}; the first submission sent ` +
          `after the kill and accepted was sent ${firstAfter - killedAt} ms after it, the last refused one ` +
          `${Math.max(0, load.lastRefusedAt() - killedAt)} ms after it; new leader ${newLeader.name}; ` +
          `web and workers reconnected to a survivor: ${JSON.stringify(reconnected)}`,
      );
      assert.deepEqual(counts, { SUCCESS: accepted.length }, "every accepted job succeeded");
      assert.notEqual(newLeader.name, leader.name);
      if (leader.name === cluster.nodes[0]!.name) {
        assert.deepEqual(reconnected, [true, true, true], "web and both workers moved to a surviving node");
      }
      assert.ok(firstAfter - killedAt < 20_000, "submissions are accepted again within 20 s of the kill");
    } finally {
      await load.stop().catch(() => {});
    }
  });
});
