import { spawn, type ChildProcess } from "node:child_process";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { compiledEntry, runtimeFlags } from "./entry.js";
import { waitFor } from "./wait-for.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** True when something accepts TCP connections on `port` of 127.0.0.1 (or of `host`). */
export function portAnswers(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, host);
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** A service process started by a test, with its log lines kept. */
export interface ServiceProcess {
  child: ChildProcess;
  lines: string[];
  /** Parsed JSON log lines. */
  logs(): Array<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts the compiled `entry` (e.g. "app/main.ts") with `env` and waits for a log line whose msg is
 * `readyMsg`. With `netns` it runs inside that network namespace (`ip netns exec`, which execs the
 * command: the child's pid is node's); with `inheritEnv: false` it gets `env` (and LOG_LEVEL) only,
 * not this process's environment.
 */
export async function startProcess(
  entry: string,
  env: Record<string, string>,
  opts: { readyMsg: string; timeoutMs?: number; cwd?: string; netns?: string; inheritEnv?: boolean },
): Promise<ServiceProcess> {
  // A source entry's compiled file is the checkout's (absolute: `cwd` may be any directory); a
  // compiled one is taken as given, relative to `cwd` (image-runtime.test.ts runs a copied app).
  const script = entry.endsWith(".js") ? entry : join(ROOT, compiledEntry(entry));
  const command = [process.execPath, ...runtimeFlags(entry), script];
  if (opts.netns) command.unshift("ip", "netns", "exec", opts.netns);
  const child = spawn(command[0]!, command.slice(1), {
    cwd: opts.cwd ?? ROOT,
    env: { ...(opts.inheritEnv === false ? {} : process.env), LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buffered = "";
  const onData = (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const logs = () =>
    lines.flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`${entry} exited (${exitCode}):\n${lines.join("\n")}`);
      return logs().some((l) => l.msg === opts.readyMsg);
    },
    { timeoutMs: opts.timeoutMs ?? 20_000, what: `${entry} ready` },
  ).catch((err) => {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n${lines.slice(-20).join("\n")}`);
  });
  return {
    child,
    lines,
    logs,
    exited,
    async stop(signal = "SIGTERM") {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}
