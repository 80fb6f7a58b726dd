// One route table, one notion of a path: a guard and the route it guards can never see different
// paths. Every guarded route is tried under case, trailing-slash, double-slash and
// percent-encoded spellings; each is either the same route behind the same guard or 404.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { memoryApp } from "../helpers/memory-app.js";
import { rawRequest } from "../helpers/raw-http.js";

const SETOSA = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const FORM = "sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2";
const QUERY = "?sepal_length=5.1&sepal_width=3.5&petal_length=1.4&petal_width=0.2";

/** The spellings of one path a client might try to slip past a guard with. */
function variants(path: string): string[] {
  const [first, ...rest] = path.slice(1).split("/");
  const hex = `%${first!.charCodeAt(0).toString(16)}`;
  const upper = `%${first!.charCodeAt(0).toString(16).toUpperCase()}`;
  return [
    "/" + [first!.toUpperCase(), ...rest].join("/"),
    "/" + [first!.charAt(0).toUpperCase() + first!.slice(1), ...rest].join("/"),
    path + "/",
    "/" + path,
    path.replace(/^\//, "//"),
    path.replace("/", "/./"),
    "/" + hex + first!.slice(1) + (rest.length ? "/" + rest.join("/") : ""),
    "/" + upper + first!.slice(1) + (rest.length ? "/" + rest.join("/") : ""),
    ...(rest.length ? [path.replace(/\/([^/]*)$/, "%2F$1")] : []),
    path + "%2F",
    path + ";x",
  ];
}

async function listen(app: { callback(): Parameters<typeof createServer>[1] }): Promise<{ server: Server; port: number }> {
  const server = createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("guarded routes under every spelling of their path (API_TOKENS set)", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let server: Server;
  let port = 0;
  before(async () => {
    t = await memoryApp({ API_TOKENS: "secret", DASHBOARD: "on" });
    ({ server, port } = await listen(t.app));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await t.close();
  });

  const id = randomUUID();
  const json = { "Content-Type": "application/json" };
  const formType = { "Content-Type": "application/x-www-form-urlencoded", Accept: "text/html" };
  const cases: Array<{ method: string; path: string; query?: string; headers?: Record<string, string>; body?: string }> = [
    { method: "POST", path: "/predict", headers: json, body: JSON.stringify({ input: SETOSA }) },
    { method: "POST", path: "/predict", headers: { ...json, "Async-Mode": "true" }, body: JSON.stringify({ input: SETOSA }) },
    { method: "POST", path: "/predict", headers: formType, body: FORM },
    { method: "GET", path: "/predict", query: QUERY },
    { method: "GET", path: `/predict/${id}` },
    { method: "DELETE", path: `/predict/${id}` },
    { method: "GET", path: "/api/model" },
    { method: "GET", path: "/dashboard" },
    { method: "GET", path: "/dashboard/data" },
  ];

  it("the canonical spelling is guarded: 401 without the token, through with it", async () => {
    for (const c of cases) {
      const target = c.path + (c.query ?? "");
      const refused = await rawRequest(port, { method: c.method, path: target, headers: c.headers, body: c.body });
      assert.equal(refused.status, 401, `${c.method} ${target} without a token`);
      const allowed = await rawRequest(port, {
        method: c.method,
        path: target,
        headers: { ...c.headers, "X-Api-Token": "secret" },
        body: c.body,
      });
      assert.ok([200, 202, 303, 404].includes(allowed.status), `${c.method} ${target} with the token: ${allowed.status}`);
    }
  });

  it("every other spelling is 401 (the same guard) or 404 (no route), never the route unguarded", async () => {
    const queuedBefore = (await t.queue.stats()).messages;
    let tried = 0;
    for (const c of cases) {
      for (const v of variants(c.path)) {
        const target = v + (c.query ?? "");
        const res = await rawRequest(port, { method: c.method, path: target, headers: c.headers, body: c.body });
        tried++;
        assert.ok([401, 404].includes(res.status), `${c.method} ${target} answered ${res.status} without a token: ${res.text.slice(0, 120)}`);
      }
    }
    assert.ok(tried >= 90, `${tried} spellings tried`);
    assert.equal((await t.queue.stats()).messages, queuedBefore, "nothing was queued");
  });
});

describe("the rate limit under every spelling of POST /predict", () => {
  it("once /predict answers 429, no other spelling submits", async () => {
    const t = await memoryApp({ RATE_LIMIT_PER_MINUTE: "2" });
    const { server, port } = await listen(t.app);
    try {
      const post = (path: string) =>
        rawRequest(port, { method: "POST", path, headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: FORM });
      assert.equal((await post("/predict")).status, 303);
      assert.equal((await post("/predict")).status, 303);
      assert.equal((await post("/predict")).status, 429);
      for (const v of variants("/predict")) {
        const res = await post(v);
        assert.ok([404, 429].includes(res.status), `POST ${v} answered ${res.status}`);
      }
      assert.equal((await t.queue.stats()).messages, 2, "only the two allowed submissions were queued");
    } finally {
      await new Promise((r) => server.close(r));
      await t.close();
    }
  });
});
