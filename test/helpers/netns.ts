import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { promisify } from "node:util";
import { waitFor } from "./wait-for.js";

const run = promisify(execFile);

/** `ip ARGS` (iproute2), as root. */
export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run("ip", args, { timeout: 30_000 });
  return stdout;
}

/** One network host of a lab: its namespace and its address on the lab's link. */
export interface LabHost {
  name: string;
  /** The network namespace (`ip netns exec NS …`). */
  ns: string;
  addr: string;
}

/**
 * Separate network hosts on one machine: one network namespace per host, each with a veth link
 * (`eth0`, its own address in a private /24) into a "switch" namespace that holds a Linux bridge,
 * plus one veth from the root namespace into the bridge, so the test process (and a browser it
 * starts) reach every host by its address. A host's namespace has only loopback and that link (no
 * default route), so its traffic goes to the other hosts of the lab and nowhere else.
 *
 * Names carry the test's pid, `iris-<tag>-<pid>-<host>` for namespaces and `i<tag><pid>` for the
 * root's link (interface names have at most 15 characters), so two runs never share one, and a
 * lab left by a run that died is recognised by its pid (see removeStaleLabs). Its files live in
 * `dir` (/var/tmp/iris-<tag>-<pid>, readable by the daemons' own users).
 */
export interface Lab {
  tag: string;
  /** The private /24 the lab uses, as its first three octets ("10.213.57"). */
  subnet: string;
  /** The root namespace's address on the lab's link. */
  rootAddr: string;
  hosts: Record<string, LabHost>;
  dir: string;
  /** Pids of every process inside the host's namespace. */
  pids(host: string): Promise<number[]>;
  /** SIGKILLs whatever still runs in the lab's namespaces, deletes them, the link and `dir`. */
  close(): Promise<void>;
  /** The same, synchronously (for an exit or signal handler). */
  closeSync(): void;
}

const SUBNET_BASE = "10.213";

/** Names of `tag` labs: the first group is the pid of the test process that made it. */
const nsPattern = (tag: string) => new RegExp(`^iris-${tag}-(\\d+)-`);
const linkPattern = (tag: string) => new RegExp(`^i${tag}(\\d+)$`);
const dirPattern = (tag: string) => new RegExp(`^iris-${tag}-(\\d+)$`);

/** True when `pid` runs and its command line names `owner` (a lab's test file). */
function ownerAlive(pid: number, owner: string): boolean {
  if (pid === process.pid) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(owner);
  } catch {
    return false;
  }
}

function namespaces(): string[] {
  try {
    return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.split(" ")[0]!)
      .filter(Boolean);
  } catch {
    return [];
  }
}

function rootLinks(): string[] {
  return execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
}

/** Kills every process in `ns` (they are the lab's) and deletes the namespace. */
function removeNamespaceSync(ns: string): void {
  for (let round = 0; round < 50; round++) {
    let pids: number[];
    try {
      pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
    } catch {
      return; // gone already
    }
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100); // a synchronous pause while the kernel reaps them
  }
  try {
    execFileSync("ip", ["netns", "delete", ns], { stdio: "ignore" });
  } catch {
    // gone already
  }
}

/**
 * Removes the namespaces, root links and directories of `tag` labs whose test process is gone (a
 * run that crashed or was killed before its `after`), and nothing else: a live run's lab (its pid
 * runs `owner`) is left alone. Returns what it removed.
 */
export function removeStaleLabs(tag: string, owner: string): string[] {
  const removed: string[] = [];
  const stale = (pid: string | undefined) => pid !== undefined && !ownerAlive(Number(pid), owner);
  for (const ns of namespaces()) {
    if (stale(nsPattern(tag).exec(ns)?.[1])) {
      removeNamespaceSync(ns);
      removed.push(`netns ${ns}`);
    }
  }
  for (const link of rootLinks()) {
    if (stale(linkPattern(tag).exec(link)?.[1])) {
      execFileSync("ip", ["link", "delete", link], { stdio: "ignore" });
      removed.push(`link ${link}`);
    }
  }
  for (const entry of existsSync("/var/tmp") ? readdirSync("/var/tmp") : []) {
    if (stale(dirPattern(tag).exec(entry)?.[1])) {
      rmSync(`/var/tmp/${entry}`, { recursive: true, force: true });
      removed.push(`dir /var/tmp/${entry}`);
    }
  }
  return removed;
}

/** A /24 under 10.213 that the root namespace neither has an address in nor routes. */
function freeSubnet(): string {
  const used = execFileSync("ip", ["-4", "-o", "addr", "show"], { encoding: "utf8" }) + execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" });
  for (let i = 0; i < 220; i++) {
    const subnet = `${SUBNET_BASE}.${20 + ((process.pid + i) % 220)}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error(`no free /24 under ${SUBNET_BASE}.0.0/16`);
}

/** Turns IPv6 off for a namespace's new links: nothing here uses it, and the bridge stays quiet (no router solicitations). */
const NO_IPV6 = ["sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6 || true"];

/**
 * Creates the lab: `hosts` (names of at most 12 characters), each in its own namespace on the
 * bridge, with addresses .10, .11, … in order; the root namespace is .1. `tag` (at most 4
 * characters) and `owner` (a string of the test's command line, its file name) name it for
 * removeStaleLabs. On a failure everything created so far is removed.
 */
export async function startLab(opts: { tag: string; owner: string; hosts: string[] }): Promise<Lab> {
  const { tag } = opts;
  const prefix = `iris-${tag}-${process.pid}-`;
  const switchNs = `${prefix}switch`;
  const rootLink = `i${tag}${process.pid}`;
  const dir = `/var/tmp/iris-${tag}-${process.pid}`;
  const subnet = freeSubnet();
  const hosts: Record<string, LabHost> = {};
  opts.hosts.forEach((name, i) => (hosts[name] = { name, ns: `${prefix}${name}`, addr: `${subnet}.${10 + i}` }));
  const created: string[] = [];
  let closed = false;

  const closeSync = () => {
    if (closed) return;
    closed = true;
    for (const ns of [...created].reverse()) removeNamespaceSync(ns);
    if (rootLinks().includes(rootLink)) {
      try {
        execFileSync("ip", ["link", "delete", rootLink], { stdio: "ignore" });
      } catch {
        // went with the switch namespace
      }
    }
    rmSync(dir, { recursive: true, force: true });
    process.off("exit", closeSync);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  // A run stopped from outside (Ctrl-C, the test runner's SIGTERM) removes its lab on the way out.
  const onSignal = (signal: NodeJS.Signals) => {
    closeSync();
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("exit", closeSync);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const host = (name: string) => {
    const h = hosts[name];
    if (!h) throw new Error(`no host ${name} in the lab`);
    return h;
  };
  const lab: Lab = {
    tag,
    subnet,
    rootAddr: `${subnet}.1`,
    hosts,
    dir,
    async pids(name) {
      return (await ip("netns", "pids", host(name).ns)).split("\n").filter(Boolean).map(Number);
    },
    async close() {
      closeSync();
      // A deleted namespace's links go away asynchronously in the kernel: wait for the root's.
      await waitFor(() => !rootLinks().includes(rootLink), { timeoutMs: 10_000, what: `link ${rootLink} removed` });
    },
    closeSync,
  };

  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    await ip("netns", "add", switchNs);
    created.push(switchNs);
    await ip("netns", "exec", switchNs, ...NO_IPV6);
    await ip("-n", switchNs, "link", "add", "br0", "type", "bridge");
    await ip("-n", switchNs, "link", "set", "br0", "up");
    for (const h of Object.values(hosts)) {
      await ip("netns", "add", h.ns);
      created.push(h.ns);
      await ip("netns", "exec", h.ns, ...NO_IPV6);
      await ip("-n", h.ns, "link", "set", "lo", "up");
      await ip("link", "add", "eth0", "netns", h.ns, "type", "veth", "peer", "name", `p-${h.name}`, "netns", switchNs);
      await ip("-n", switchNs, "link", "set", `p-${h.name}`, "master", "br0", "up");
      await ip("-n", h.ns, "addr", "add", `${h.addr}/24`, "dev", "eth0");
      await ip("-n", h.ns, "link", "set", "eth0", "up");
    }
    await ip("link", "add", rootLink, "type", "veth", "peer", "name", "p-root", "netns", switchNs);
    const v6 = `/proc/sys/net/ipv6/conf/${rootLink}/disable_ipv6`;
    if (existsSync(v6)) writeFileSync(v6, "1");
    await ip("-n", switchNs, "link", "set", "p-root", "master", "br0", "up");
    await ip("addr", "add", `${lab.rootAddr}/24`, "dev", rootLink);
    await ip("link", "set", rootLink, "up");
  } catch (err) {
    closeSync();
    throw err;
  }
  return lab;
}
