// scripts/s3-server.sh when a port it chose is taken before its daemon binds it. CI saw Ceph's
// monitor refused ("Address already in use" on 43736, a port in the kernel's ephemeral range, which
// every process's listen(0) and outgoing connections draw from) and eight report-store tests
// cancelled. The script's ranges now lie below the ephemeral ports, and a start that fails is made
// again on other ports.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { portAnswers } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts/s3-server.sh");
// The monitor's range in scripts/free-ports.sh, with the 24 messenger ports above it.
const MON_LO = 19000;
const MON_HI = 25000 + 24;

/** Listens on `port` of 127.0.0.1 (the port a daemon is about to bind) until released. */
async function takePort(port: number): Promise<{ release(): Promise<void> }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await new Promise((r) => server.close(r));
    },
  };
}

describe("s3-server.sh when its ports are taken", () => {
  it("a monitor port taken between the check and the bind: the next start picks other ports and answers", async () => {
    const floor = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    assert.ok(
      MON_HI < floor,
      `the monitor's ports (${MON_LO}-${MON_HI}) must lie below the ephemeral ports (${floor}-)`,
    );

    const state = mkdtempSync(join(ROOT, ".test-services", "s3-ports-"));
    const env = { ...process.env, S3_STATE_DIR: state };
    const down = () =>
      new Promise<void>((resolve) =>
        spawn("bash", [SCRIPT, "down"], { cwd: ROOT, env, stdio: "ignore" }).once("exit", () => resolve()),
      );
    let stdout = "";
    let stderr = "";
    let child: ChildProcess | undefined;
    let exited: Promise<number | null> = Promise.resolve(null);
    let hold: Awaited<ReturnType<typeof takePort>> | undefined;
    // The ports are chosen and written to ceph.conf; the monitor binds its port a moment later
    // (~0.1 s: after its monmap and its store are made). Take that port in between; should this
    // process be too slow (the monitor has it already), start over.
    for (let round = 0; round < 3 && !hold; round++) {
      stdout = stderr = "";
      const started = spawn("bash", [SCRIPT, "up"], { cwd: ROOT, env });
      child = started;
      started.stdout.on("data", (d) => (stdout += d));
      started.stderr.on("data", (d) => (stderr += d));
      exited = new Promise<number | null>((r) => started.once("exit", r));
      const monPort = await waitFor(
        () => {
          const conf = readFileSync(join(state, "ceph.conf"), "utf8");
          return Number(/^mon_host = v2:127\.0\.0\.1:(\d+)$/m.exec(conf)?.[1] ?? 0);
        },
        { timeoutMs: 60_000, intervalMs: 2, what: "the first start's ceph.conf" },
      );
      assert.ok(monPort >= MON_LO && monPort + 24 <= MON_HI, `monitor port ${monPort}`);
      hold = await takePort(monPort).catch(() => undefined);
      if (!hold) {
        await exited;
        await down();
      }
    }
    assert.ok(hold, "the monitor bound its port before this process could take it, three times");
    try {
      await waitFor(() => stderr.includes("start 1 of 3 failed"), {
        timeoutMs: 60_000,
        what: "the first start to fail",
      });
      assert.match(stderr, /Address already in use/);
      await hold.release();
      assert.equal(await exited, 0, `s3-server.sh up failed:\n${stderr}`);
      assert.doesNotMatch(stderr, /start 2 of 3 failed/);
      const endpoint = /^AWS_ENDPOINT_URL_S3=http:\/\/127\.0\.0\.1:(\d+)$/m.exec(stdout);
      assert.ok(endpoint, `no endpoint in ${JSON.stringify(stdout)}`);
      assert.ok(Number(endpoint[1]) < floor, `the gateway's port ${endpoint[1]} is an ephemeral port`);
      assert.equal(await portAnswers(Number(endpoint[1])), true);
    } finally {
      await hold.release();
      child!.kill();
      await down();
    }
  });
});
