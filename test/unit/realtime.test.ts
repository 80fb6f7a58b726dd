// app/realtime.ts on its own: a loopback HTTP server, a store whose change feed the test drives
// (so changes can arrive late or out of order), and a socket.io client.
import assert from "node:assert/strict";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { io, type Socket } from "socket.io-client";
import { attachRealtime, type Realtime } from "../../app/realtime.js";
import type { ProgressBody } from "../../app/job-view.js";
import { helmetHeaders } from "../../app/middleware/security.js";
import { createMemoryStore } from "../../tasks/store/memory.js";
import type { JobRecord, JobStore } from "../../tasks/store/types.js";
import { silentLogger } from "../helpers/silent-logger.js";
import { waitFor } from "../helpers/wait-for.js";

const at = new Date().toISOString();
const record = (jobid: string, patch: Partial<JobRecord> = {}): JobRecord => ({
  jobid,
  state: "PROGRESS",
  progress: 0,
  stage: "queued",
  input: { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
  attempts: 1,
  created_at: at,
  updated_at: at,
  ...patch,
});

describe("realtime: subscribe, rooms and ordering", () => {
  const memory = createMemoryStore({ ttlSeconds: 60 });
  let push: (r: JobRecord) => void = () => {};
  // The memory store for reads, but a change feed the test controls.
  const store: JobStore = {
    ...memory,
    async subscribe(listener) {
      push = listener;
      return async () => {
        push = () => {};
      };
    },
  };
  const server = createServer();
  let realtime: Realtime;
  let url = "";
  const sockets: Socket[] = [];

  before(async () => {
    realtime = await attachRealtime({ server, store, logger: silentLogger });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const s of sockets) s.close();
    await realtime.close();
  });

  const connect = async () => {
    const socket = io(url, { transports: ["websocket"], reconnection: false, forceNew: true });
    sockets.push(socket);
    const events: ProgressBody[] = [];
    socket.on("progress", (b: ProgressBody) => events.push(b));
    await new Promise<void>((r) => socket.once("connect", () => r()));
    return { socket, events };
  };

  it("serves the socket.io client itself (no CDN)", async () => {
    const res = await fetch(`${url}/socket.io/socket.io.min.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /javascript/);
  });

  it("drops changes older than what a socket has seen, and everything after a final state", async () => {
    const jobid = randomUUID();
    await memory.create(record(jobid, { progress: 0.6, stage: "rendering" }));
    const { socket, events } = await connect();
    assert.deepEqual(await socket.emitWithAck("subscribe", { jobid }), { ok: true });
    await waitFor(() => events.length === 1);
    push(record(jobid, { progress: 0.3, stage: "classifying" })); // a late PUBLISH: older than the read
    push(record(jobid, { progress: 0.9, stage: "saving" }));
    push(record(jobid, { state: "SUCCESS", progress: 1, stage: "done", result: "setosa", probabilities: { setosa: 1 } }));
    push(record(jobid, { state: "FAILURE", progress: 1, stage: "failed", error: "late" }));
    push(record(jobid, { progress: 0.95, stage: "saving" }));
    await waitFor(() => events.at(-1)?.state === "SUCCESS");
    // One more round trip, so anything wrongly sent after SUCCESS would have arrived.
    await socket.emitWithAck("subscribe", { jobid: "x" });
    assert.deepEqual(
      events.map((e) => `${e.state}:${e.stage}`),
      ["PROGRESS:rendering", "PROGRESS:saving", "SUCCESS:done"],
    );
  });

  it("sends a job's changes only to its room, and stops after unsubscribe", async () => {
    const a = randomUUID();
    const b = randomUUID();
    await memory.create(record(a));
    await memory.create(record(b));
    const ca = await connect();
    const cb = await connect();
    assert.deepEqual(await ca.socket.emitWithAck("subscribe", { jobid: a }), { ok: true });
    // A bare id string is accepted too; an upper-case id is the same job.
    assert.deepEqual(await cb.socket.emitWithAck("subscribe", b.toUpperCase()), { ok: true });
    await waitFor(() => ca.events.length === 1 && cb.events.length === 1);
    push(record(a, { progress: 0.1, stage: "validating" }));
    push(record(b, { progress: 0.3, stage: "classifying" }));
    await waitFor(() => ca.events.length === 2 && cb.events.length === 2);
    assert.ok(ca.events.every((e) => e.jobid === a));
    assert.ok(cb.events.every((e) => e.jobid === b));

    cb.socket.emit("unsubscribe", { jobid: b });
    await cb.socket.emitWithAck("subscribe", { jobid: "x" }); // a round trip after the unsubscribe
    push(record(b, { progress: 0.6, stage: "rendering" }));
    push(record(a, { progress: 0.3, stage: "classifying" }));
    await waitFor(() => ca.events.length === 3);
    await cb.socket.emitWithAck("subscribe", { jobid: "x" });
    assert.equal(cb.events.length, 2, "nothing after unsubscribe");
  });

  it("refuses a socket following too many jobs", async () => {
    const { socket } = await connect();
    const ids = Array.from({ length: 21 }, () => randomUUID());
    for (const id of ids) await memory.create(record(id));
    const acks: Array<{ ok: boolean; status?: number }> = [];
    for (const id of ids) acks.push(await socket.emitWithAck("subscribe", { jobid: id }));
    assert.equal(acks.filter((a) => a.ok).length, 20);
    assert.deepEqual(acks.at(-1), { ok: false, error: "Too many jobs followed on one connection.", status: 429 });
  });

  it("close() disconnects clients and frees the port", async () => {
    const extra = createServer();
    const rt = await attachRealtime({ server: extra, store: createMemoryStore({ ttlSeconds: 60 }), logger: silentLogger });
    await new Promise<void>((r) => extra.listen(0, "127.0.0.1", r));
    const port = (extra.address() as AddressInfo).port;
    const socket = io(`http://127.0.0.1:${port}`, { transports: ["websocket"], reconnection: false, forceNew: true });
    await new Promise<void>((r) => socket.once("connect", () => r()));
    const gone = new Promise((r) => socket.once("disconnect", r));
    await rt.close();
    await gone;
    assert.equal(extra.listening, false);
  });
});

describe("realtime: who may connect, and the headers on socket.io's own responses", () => {
  const store = createMemoryStore({ ttlSeconds: 60 });
  const server = createServer();
  let realtime: Realtime;
  let url = "";
  let connections = 0;
  const jobid = randomUUID();
  const sockets: Socket[] = [];

  before(async () => {
    await store.create(record(jobid));
    realtime = await attachRealtime({
      server,
      store,
      logger: silentLogger,
      allowedOrigins: ["https://iris.example"],
      trustProxy: false,
    });
    realtime.io.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const s of sockets) s.close();
    await realtime.close();
  });

  /** Opens a socket with these request headers; resolves once it connected or was refused. */
  const attempt = async (transport: "websocket" | "polling", headers: Record<string, string>) => {
    const socket = io(url, { transports: [transport], reconnection: false, forceNew: true, extraHeaders: headers });
    sockets.push(socket);
    const outcome = await new Promise<"connected" | "refused">((resolve) => {
      socket.once("connect", () => resolve("connected"));
      socket.once("connect_error", () => resolve("refused"));
    });
    return { socket, outcome };
  };
  /** The engine.io polling handshake, as a browser's page script would send it. */
  const handshake = (headers: Record<string, string> = {}) =>
    fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers });

  for (const transport of ["websocket", "polling"] as const) {
    it(`${transport}: refuses a page from another site (cross-site WebSocket hijacking); it never connects, so it cannot subscribe`, async () => {
      const before = connections;
      for (const origin of [
        "http://evil.example",
        `http://localhost:${new URL(url).port}`,
        `https://${new URL(url).host}`,
        "null",
      ]) {
        const { socket, outcome } = await attempt(transport, { Origin: origin });
        assert.equal(outcome, "refused", origin);
        assert.equal(socket.connected, false);
      }
      assert.equal(connections, before, "the server saw no connection");
    });

    it(`${transport}: accepts its own origin, an ALLOWED_ORIGINS origin and a client that sends no Origin`, async () => {
      const cases: Array<Record<string, string>> = [
        { Origin: url },
        { Origin: "https://iris.example" },
        { Origin: "HTTPS://IRIS.example:443" },
        {},
      ];
      for (const headers of cases) {
        const { socket, outcome } = await attempt(transport, headers);
        assert.equal(outcome, "connected", JSON.stringify(headers));
        assert.deepEqual(await socket.emitWithAck("subscribe", { jobid }), { ok: true });
        socket.close();
      }
    });
  }

  it("answers a foreign polling handshake 403, and its own 200", async () => {
    const refused = await handshake({ Origin: "http://evil.example" });
    assert.equal(refused.status, 403);
    await refused.arrayBuffer();
    const own = await handshake({ Origin: url });
    assert.equal(own.status, 200);
    assert.match(await own.text(), /"sid"/);
  });

  it("puts the security headers on socket.io's own responses: the client file, the handshake, a refusal, the upgrade", async () => {
    const expected = helmetHeaders();
    assert.ok(expected.some(([name]) => name.toLowerCase() === "x-content-type-options"));
    const check = (headers: Record<string, string | string[] | undefined>, what: string) => {
      assert.match(String(headers["content-security-policy"]), /default-src 'self'/, what);
      assert.equal(headers["x-content-type-options"], "nosniff", what);
      for (const [name, value] of expected) assert.equal(headers[name.toLowerCase()], value, `${what}: ${name}`);
    };
    for (const res of [
      await fetch(`${url}/socket.io/socket.io.min.js`),
      await handshake(),
      await handshake({ Origin: "http://evil.example" }),
    ]) {
      check(Object.fromEntries(res.headers), `${res.status} ${res.url}`);
      await res.arrayBuffer();
    }
    // The WebSocket upgrade (101), written by ws rather than through a ServerResponse.
    const upgraded = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${url}/socket.io/?EIO=4&transport=websocket`, {
        headers: {
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.once("upgrade", (res, socket) => {
        socket.destroy();
        resolve(res);
      });
      req.once("response", (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.once("error", reject);
      req.end();
    });
    assert.equal(upgraded.statusCode, 101);
    check(upgraded.headers as Record<string, string>, "101 upgrade");
  });

  it("behind a trusted proxy (TRUST_PROXY=1), the own origin comes from X-Forwarded-Proto and X-Forwarded-Host", async () => {
    const proxied = {
      Origin: "https://iris.behind.proxy",
      "X-Forwarded-Proto": "https",
      "X-Forwarded-Host": "iris.behind.proxy",
    };
    assert.equal((await handshake(proxied)).status, 403, "not trusted here: the forwarded headers are ignored");
    const trusting = createServer();
    const rt = await attachRealtime({
      server: trusting,
      store,
      logger: silentLogger,
      allowedOrigins: [],
      trustProxy: true,
    });
    try {
      await new Promise<void>((r) => trusting.listen(0, "127.0.0.1", r));
      const base = `http://127.0.0.1:${(trusting.address() as AddressInfo).port}`;
      const send = (headers: Record<string, string>) =>
        fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers });
      assert.equal((await send(proxied)).status, 200);
      assert.equal((await send({ ...proxied, "X-Forwarded-Proto": "http" })).status, 403, "scheme differs");
      assert.equal((await send({ Origin: base })).status, 200, "no forwarded headers: the request's own Host");
      assert.equal((await send({ ...proxied, Origin: "http://evil.example" })).status, 403);
    } finally {
      await rt.close();
    }
  });
});
