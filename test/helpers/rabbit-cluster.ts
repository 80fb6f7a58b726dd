import { execFile, spawn } from "node:child_process";
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { freePort, portAnswers } from "./processes.js";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** A node of the test's own cluster. */
export interface ClusterNode {
  name: string;
  port: number;
  url: string;
}

/**
 * Three RabbitMQ nodes of the test's own (own node names, ports and data directories under
 * /var/tmp, as scripts/test-services.sh keeps its broker), joined into one cluster.
 */
export interface RabbitCluster {
  nodes: ClusterNode[];
  /** RABBITMQ_URL listing every node. */
  urls: string;
  /** rabbitmqctl against `node` (default: the first one still running). */
  ctl(args: string[], node?: ClusterNode): Promise<string>;
  /** The node that leads quorum queue `queue` now. */
  leaderOf(queue: string): Promise<ClusterNode>;
  /** SIGKILLs the node's Erlang VM. */
  kill(node: ClusterNode): Promise<void>;
  close(): Promise<void>;
}

/** uid/gid of the rabbitmq user: Debian's wrapper runs the node as that user. */
function rabbitmqIds(): { uid: number; gid: number } | null {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("rabbitmq:"));
  if (!line) return null;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startRabbitCluster(size = 3): Promise<RabbitCluster> {
  const ids = rabbitmqIds();
  const dirs: string[] = [];
  const nodes: ClusterNode[] = [];
  const dead = new Set<string>();
  // Node and distribution ports from the kernel (listen(0)), each one its own: a port picked as
  // "node port + 20000" was checked only for a listener, and can be the local end of a connection.
  const distPorts: number[] = [];
  const taken = new Set<number>();
  const pick = async () => {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    return p;
  };
  for (let i = 0; i < size; i++) {
    const port = await pick();
    distPorts.push(await pick());
    nodes.push({ name: `iris-cluster-${port}@localhost`, port, url: `amqp://guest:guest@127.0.0.1:${port}` });
  }
  const ctl = async (args: string[], node?: ClusterNode) => {
    const target = node ?? nodes.find((n) => !dead.has(n.name))!;
    const { stdout } = await run("rabbitmqctl", ["-n", target.name, ...args], { timeout: 60_000 });
    return stdout;
  };
  const pidOf = (i: number) => Number(readFileSync(`${dirs[i]}/rabbit.pid`, "utf8").trim());

  const cluster: RabbitCluster = {
    nodes,
    urls: nodes.map((n) => n.url).join(","),
    ctl,
    async leaderOf(queue) {
      const out = await ctl(["list_queues", "name", "leader", "--quiet", "--no-table-headers"]);
      const line = out.split("\n").find((l) => l.split("\t")[0] === queue);
      const leader = line?.split("\t")[1]?.trim();
      const node = nodes.find((n) => n.name === leader);
      if (!node) throw new Error(`no leader for ${queue} in: ${out}`);
      return node;
    },
    async kill(node) {
      const i = nodes.indexOf(node);
      dead.add(node.name);
      process.kill(pidOf(i), "SIGKILL");
      await waitFor(async () => !(await portAnswers(node.port)), { timeoutMs: 10_000, intervalMs: 20, what: "the killed node's port closed" });
    },
    async close() {
      await Promise.all(
        nodes.map(async (n, i) => {
          if (dead.has(n.name)) return;
          await run("rabbitmqctl", ["-n", n.name, "stop"], { timeout: 60_000 }).catch(() => {
            try {
              process.kill(pidOf(i), "SIGKILL");
            } catch {
              // already gone
            }
          });
        }),
      );
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(
      nodes.map(async (node, i) => {
        const dir = `/var/tmp/iris-cluster-${node.port}`;
        dirs[i] = dir;
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        writeFileSync(`${dir}/enabled_plugins`, "[].");
        if (ids) {
          chownSync(dir, ids.uid, ids.gid);
          chownSync(`${dir}/enabled_plugins`, ids.uid, ids.gid);
        }
        const child = spawn("rabbitmq-server", ["-detached"], {
          stdio: "ignore",
          env: {
            ...process.env,
            RABBITMQ_NODENAME: node.name,
            RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
            RABBITMQ_NODE_PORT: String(node.port),
            RABBITMQ_DIST_PORT: String(distPorts[i]),
            RABBITMQ_MNESIA_BASE: `${dir}/mnesia`,
            RABBITMQ_LOG_BASE: `${dir}/log`,
            RABBITMQ_PID_FILE: `${dir}/rabbit.pid`,
            RABBITMQ_ENABLED_PLUGINS_FILE: `${dir}/enabled_plugins`,
            RABBITMQ_CONFIG_FILE: `${dir}/rabbitmq`,
          },
        });
        await new Promise((r) => child.once("exit", r));
        await waitFor(() => portAnswers(node.port), { timeoutMs: 120_000, intervalMs: 200, what: `rabbitmq ${node.name}` });
      }),
    );
    for (const node of nodes.slice(1)) {
      await ctl(["stop_app"], node);
      await ctl(["join_cluster", nodes[0]!.name], node);
      await ctl(["start_app"], node);
      await waitFor(() => portAnswers(node.port), { timeoutMs: 60_000, intervalMs: 200, what: `${node.name} back in the cluster` });
    }
    await waitFor(
      async () => {
        const status = await ctl(["cluster_status", "--formatter", "json"]);
        return (JSON.parse(status) as { running_nodes: string[] }).running_nodes.length === size;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: `${size} running nodes` },
    );
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
