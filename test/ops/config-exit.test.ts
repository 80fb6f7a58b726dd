// A bad configuration value stops each entry process at once, with a message naming the variable
// and what it expects (and never echoing a secret it was given).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { compiledEntry } from "../helpers/entry.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs an entry with `env` on top of a clean environment; resolves with its exit code and output. */
function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [compiledEntry(entry)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${entry} did not exit on a bad configuration:\n${output}`));
    }, 20_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

// Valid URLs for the variables a case does not test, so each case fails only on its own variable.
const GOOD = { RABBITMQ_URL: "amqp://u:p@127.0.0.1:1", REDIS_URL: "redis://127.0.0.1:1" };

const cases: Array<{ entry: string; env: Record<string, string>; expect: RegExp }> = [
  { entry: "app/main.ts", env: { ...GOOD, PORT: "eighty" }, expect: /PORT: must be a port number \(1-65535\)/ },
  {
    entry: "app/main.ts",
    env: { ...GOOD, RABBITMQ_URL: "http://x" },
    expect: /RABBITMQ_URL: must be a RabbitMQ URL \(amqp:\/\/ or amqps:\/\/…\)/,
  },
  { entry: "app/embedded.ts", env: { PORT: "eighty" }, expect: /PORT: must be a port number/ },
  {
    entry: "tasks/main.ts",
    env: { ...GOOD, RABBITMQ_URL: "http://x" },
    expect: /RABBITMQ_URL: must be a RabbitMQ URL/,
  },
  { entry: "tasks/main.ts", env: { ...GOOD, REDIS_URL: "localhost:6379" }, expect: /REDIS_URL: must be a Redis URL/ },
  // PORT is the web's; the worker's only port is its optional health endpoint.
  {
    entry: "tasks/main.ts",
    env: { ...GOOD, WORKER_HEALTH_PORT: "eighty" },
    expect: /WORKER_HEALTH_PORT: must be a port number/,
  },
  {
    entry: "tasks/main.ts",
    env: { ...GOOD, LOG_LEVEL: "loud" },
    expect: /LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/,
  },
];

describe("a bad configuration value stops the process", () => {
  for (const c of cases) {
    const [name] = Object.entries(c.env).find(
      ([k]) => !(k in GOOD) || (GOOD as Record<string, string>)[k] !== c.env[k],
    )!;
    it(`${c.entry} with ${name}=${c.env[name]}: exit 2, message names ${name}`, async () => {
      const { code, output } = await run(c.entry, c.env);
      assert.equal(code, 2, output);
      assert.match(output, c.expect);
      assert.match(output, /^Invalid configuration:/m);
      assert.doesNotMatch(output, /\bat .*\.ts:\d+/, "a sentence, not a stack trace");
    });
  }

  it("never echoes a password given in a bad URL", async () => {
    const { code, output } = await run("tasks/main.ts", { ...GOOD, RABBITMQ_URL: "http://user:hunter2-secret@x" });
    assert.equal(code, 2);
    assert.match(output, /RABBITMQ_URL/);
    assert.doesNotMatch(output, /hunter2/);
  });

  it("the web refuses to start without RABBITMQ_URL and REDIS_URL, and says what to do", async () => {
    const { code, output } = await run("app/main.ts", {});
    assert.equal(code, 2);
    assert.match(output, /needs RABBITMQ_URL and REDIS_URL/);
  });
});
