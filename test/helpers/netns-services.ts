import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Lab } from "./netns.js";
import { portAnswers } from "./processes.js";
import { waitFor } from "./wait-for.js";

/** A daemon the test started on one host of a lab. */
export interface LabService {
  /** What the service's clients put in their environment (RABBITMQ_URL=…, REDIS_URL=…, or the LB's base URL). */
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

/** uid/gid of the rabbitmq user: Debian's wrapper runs the node as that user. */
function rabbitmqIds(): { uid: number; gid: number } | null {
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("rabbitmq:"));
  if (!line) return null;
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Resolves with `child`'s exit code once it has exited (it may have already). */
function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** Output of a child kept for an error message. */
function keepOutput(child: ChildProcess): () => string {
  let out = "";
  const add = (b: Buffer) => (out = (out + b.toString()).slice(-4000));
  child.stdout?.on("data", add);
  child.stderr?.on("data", add);
  return () => out;
}

/**
 * A RabbitMQ node of its own on `host` (rabbitmq-server -detached inside the host's namespace):
 * listening on the host's address, node name iris-<tag>-<pid>@localhost (epmd is per namespace,
 * so `rabbitmqctl -n NAME` works only inside it), data under the lab's directory. Its only user
 * is `iris` with a random password (no guest account: guest may log in from loopback only).
 */
export async function startRabbitIn(lab: Lab, host: string): Promise<LabService & { nodeName: string }> {
  const h = lab.hosts[host]!;
  const port = 5672;
  const nodeName = `iris-${lab.tag}-${process.pid}@localhost`;
  const dir = join(lab.dir, "rabbitmq");
  const password = randomBytes(12).toString("hex");
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(`${dir}/enabled_plugins`, "[].");
  writeFileSync(`${dir}/rabbitmq.conf`, `default_user = iris\ndefault_pass = ${password}\n`);
  const ids = rabbitmqIds();
  if (ids) for (const p of [dir, `${dir}/enabled_plugins`, `${dir}/rabbitmq.conf`]) chownSync(p, ids.uid, ids.gid);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("RABBITMQ_")));
  const child = spawn("ip", ["netns", "exec", h.ns, "rabbitmq-server", "-detached"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...env,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_NODE_IP_ADDRESS: h.addr,
      RABBITMQ_NODE_PORT: String(port),
      RABBITMQ_DIST_PORT: String(port + 20000),
      RABBITMQ_MNESIA_BASE: `${dir}/mnesia`,
      RABBITMQ_LOG_BASE: `${dir}/log`,
      RABBITMQ_PID_FILE: `${dir}/rabbit.pid`,
      RABBITMQ_ENABLED_PLUGINS_FILE: `${dir}/enabled_plugins`,
      RABBITMQ_CONFIG_FILE: `${dir}/rabbitmq`,
    },
  });
  const output = keepOutput(child);
  await exitOf(child);
  await waitFor(() => portAnswers(port, h.addr), { timeoutMs: 120_000, intervalMs: 200, what: `rabbitmq on ${h.addr}:${port}` }).catch(
    (err: Error) => {
      let log = "";
      try {
        log = readFileSync(`${dir}/log/${nodeName}.log`, "utf8").slice(-3000);
      } catch {
        // no log yet
      }
      throw new Error(`${err.message}\n${output()}\n${log}`);
    },
  );
  return {
    url: `amqp://iris:${password}@${h.addr}:${port}`,
    host,
    port,
    nodeName,
    // The data directory goes with the lab; nothing needs a clean shutdown.
    stop: async () => {
      for (const pid of await lab.pids(host)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
    },
  };
}

/** A redis-server of its own on `host`: its address, a random password, no persistence. */
export async function startRedisIn(lab: Lab, host: string): Promise<LabService> {
  const h = lab.hosts[host]!;
  const port = 6379;
  const dir = join(lab.dir, "redis");
  mkdirSync(dir, { recursive: true });
  const password = randomBytes(12).toString("hex");
  const child = spawn(
    "ip",
    ["netns", "exec", h.ns, "redis-server", "--bind", h.addr, "--port", String(port), "--requirepass", password,
      "--save", "", "--appendonly", "no", "--dir", dir],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output = keepOutput(child);
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}): ${output()}`);
      return portAnswers(port, h.addr);
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `redis on ${h.addr}:${port}` },
  );
  return {
    url: `redis://:${password}@${h.addr}:${port}`,
    host,
    port,
    async stop() {
      child.kill("SIGKILL");
      await exitOf(child);
    },
  };
}

/** The nginx load balancer: its access log, one line per request with the upstream that served it. */
export interface LabNginx extends LabService {
  accessLog(): Array<{ method: string; uri: string; status: number; upstream: string }>;
  errorLog(): string;
}

/**
 * nginx on `host`, port 80 of its address, round robin over `upstreams` (host:port), HTTP/1.1 to
 * them with keep-alive, and WebSocket upgrades passed through (Upgrade/Connection headers, long
 * read timeout). Its own prefix, config, pid and logs under the lab's directory; the master runs
 * in the foreground as the test's child (daemon off).
 */
export async function startNginxIn(lab: Lab, host: string, upstreams: string[]): Promise<LabNginx> {
  const h = lab.hosts[host]!;
  const port = 80;
  const prefix = join(lab.dir, "nginx");
  mkdirSync(join(prefix, "tmp"), { recursive: true, mode: 0o755 });
  const conf = join(prefix, "nginx.conf");
  const access = join(prefix, "access.log");
  const errors = join(prefix, "error.log");
  writeFileSync(
    conf,
    `# The separate-hosts test's load balancer (test/helpers/netns-services.ts).
daemon off;
master_process on;
worker_processes 1;
user root root;
pid ${prefix}/nginx.pid;
error_log ${errors} warn;
events { worker_connections 1024; }
http {
  log_format lb '$request_method|$request_uri|$status|$upstream_addr';
  access_log ${access} lb;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  # A WebSocket upgrade is passed on as one; any other request keeps the upstream connection alive.
  map $http_upgrade $connection_upgrade {
    default upgrade;
    "" "";
  }
  upstream iris_web {
${upstreams.map((u) => `    server ${u};`).join("\n")}
    keepalive 16;
  }
  server {
    listen ${h.addr}:${port};
    location / {
      proxy_pass http://iris_web;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_read_timeout 300s;
    }
  }
}
`,
  );
  const child = spawn("ip", ["netns", "exec", h.ns, "nginx", "-p", `${prefix}/`, "-c", conf, "-e", errors], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = keepOutput(child);
  const errorLog = () => {
    try {
      return readFileSync(errors, "utf8");
    } catch {
      return "";
    }
  };
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${output()} ${errorLog()}`);
      return portAnswers(port, h.addr);
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `nginx on ${h.addr}:${port}` },
  );
  return {
    url: `http://${h.addr}`,
    host,
    port,
    accessLog() {
      return readFileSync(access, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => {
          // $upstream_addr lists every upstream tried ("a:8080, b:8080" after a retry).
          const [method, uri, status, ...upstream] = line.split("|");
          return { method: method!, uri: uri!, status: Number(status), upstream: upstream.join("|") };
        });
    },
    errorLog,
    async stop() {
      child.kill("SIGTERM"); // fast shutdown: open WebSockets are closed, not waited for
      await exitOf(child);
    },
  };
}
