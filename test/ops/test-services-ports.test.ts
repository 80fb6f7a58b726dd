// scripts/test-services.sh up-private when another server answers on the port it chose (taken
// between its check and its daemon's bind, by another run's Redis, say): it must not hand the tests
// a server it did not start. It sees that the listener is not its daemon, stops what it started,
// and starts again on other ports.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { Redis } from "ioredis";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SCRIPT = join(ROOT, "scripts/test-services.sh");

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", [SCRIPT, ...args], { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("test-services.sh up-private when another server answers on its port", () => {
  it("does not take it for its own Redis: it starts again on other ports and hands over its own", async () => {
    const dir = mkdtempSync(join(tmpdir(), "iris-impostor-"));
    // A redis-server on PATH whose first start leaves another program listening on the port, as
    // a server that took the port before Redis bound it would; later starts are the real Redis.
    const real = execFileSync("bash", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim();
    writeFileSync(
      join(dir, "redis-server"),
      `#!/bin/bash
n=$(cat "${dir}/starts" 2>/dev/null || echo 0); echo $((n + 1)) > "${dir}/starts"
if [ "$n" = 0 ]; then
  while [ $# -gt 0 ] && [ "$1" != --port ]; do shift; done
  "${process.execPath}" -e "require('net').createServer((s) => s.end()).listen($2, '127.0.0.1')" >/dev/null 2>&1 &
  echo $! > "${dir}/impostor.pid"
  exit 0
fi
exec ${real} "$@"
`,
    );
    chmodSync(join(dir, "redis-server"), 0o755);
    const env = {
      ...process.env,
      PATH: `${dir}:${process.env.PATH}`,
      SERVICES_STATE_DIR: join(dir, "state"),
      SERVICES_ONLY: "1",
    };
    const up = await run(["up-private"], env);
    try {
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /answers, but not the redis this script started/);
      assert.match(up.stderr, /start 1 of 3 failed on its ports/);
      assert.equal(Number(readFileSync(join(dir, "starts"), "utf8")), 2, "Redis was started again, once");
      const url = /^REDIS_URL=(.*)$/m.exec(up.stdout)?.[1];
      assert.ok(url, up.stdout);
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await redis.connect();
        const info = await redis.info("server");
        const pid = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
        assert.equal(
          pid,
          Number(readFileSync(join(dir, "state", "redis", "redis.pid"), "utf8")),
          "the Redis it started",
        );
      } finally {
        redis.disconnect();
      }
    } finally {
      const down = await run(["down"], env);
      assert.equal(down.code, 0, down.stderr);
      try {
        process.kill(Number(readFileSync(join(dir, "impostor.pid"), "utf8")));
      } catch {
        // gone already
      }
    }
  });
});
