import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, describe, it } from "node:test";
import request from "supertest";
import { createSubmissionLimiter } from "../../app/middleware/rate-limit.js";
import { asRateLimitStore } from "../../tasks/services.js";
import { memoryApp } from "../helpers/memory-app.js";
import { testRedis, uniqueName } from "../helpers/services.js";

const form = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

/** The form page's session cookie and form token, as a browser gets them from GET /. */
async function formSession(http: ReturnType<typeof request>): Promise<{ cookie: string; token: string }> {
  const page = await http.get("/").expect(200);
  const cookie = (page.headers["set-cookie"] as unknown as string[]).find((c) => c.startsWith("iris_form_session="))!;
  assert.match(cookie, /httponly/i);
  assert.match(cookie, /samesite=strict/i);
  const token = /name="form_token" value="([^"]+)"/.exec(page.text)![1]!;
  return { cookie: cookie.split(";")[0]!, token };
}

describe("API tokens", () => {
  const csv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n";

  it("guard the JSON API (401 without a valid X-Api-Token); the pages and a job's own endpoints stay open", async () => {
    const t = await memoryApp({ API_TOKENS: "alpha,beta" });
    const http = request(t.app.callback());
    try {
      for (const [method, path] of [
        ["get", "/api/model"],
        ["get", `/predict/${randomUUID()}`],
        ["delete", `/predict/${randomUUID()}`],
        ["get", "/predict?sepal_length=1"],
      ] as const) {
        const res = await http[method](path).set("Accept", "application/json");
        assert.equal(res.status, 401, `${method} ${path}`);
        assert.match(res.body.error, /X-Api-Token/);
        const wrong = await http[method](path).set("X-Api-Token", "alph");
        assert.equal(wrong.status, 401);
        const longer = await http[method](path).set("X-Api-Token", "alphaa");
        assert.equal(longer.status, 401);
        const ok = await http[method](path).set("X-Api-Token", "beta");
        assert.notEqual(ok.status, 401, `${method} ${path} with a token`);
      }
      const json = await http.post("/predict").send({ input: {} });
      assert.equal(json.status, 401, "a JSON POST is the API");
      await http.get("/").expect(200);
      await http.get(`/progress?jobid=${randomUUID()}`).expect(404);
      await http.get(`/result?jobid=${randomUUID()}`).expect(404);
    } finally {
      await t.close();
    }
  });

  it("a program cannot queue jobs by dressing its request as the form: the form needs the page's token", async () => {
    const t = await memoryApp({ API_TOKENS: "alpha" });
    const http = request(t.app.callback());
    try {
      // What a script sends when it pretends to be a browser: no token, Accept: text/html.
      const asForm = await http.post("/predict").type("form").send(form).set("Accept", "text/html");
      assert.equal(asForm.status, 401, "a form post without the page's token");
      const asUpload = await http.post("/predict").attach("file", Buffer.from(csv), "f.csv").set("Accept", "text/html");
      assert.equal(asUpload.status, 401, "a CSV upload without the page's token");
      const asJsonUpload = await http.post("/predict").attach("file", Buffer.from(csv), "f.csv").set("Accept", "application/json");
      assert.equal(asJsonUpload.status, 401, "a program's CSV upload is the API");

      // The page's own forms: the session cookie and the token from the page.
      const { cookie, token } = await formSession(http);
      const posted = await http.post("/predict").type("form").set("Cookie", cookie).send({ ...form, form_token: token });
      assert.equal(posted.status, 303, posted.text);
      const uploaded = await http
        .post("/predict")
        .set("Cookie", cookie)
        .field("form_token", token)
        .attach("file", Buffer.from(csv), "f.csv");
      assert.equal(uploaded.status, 303, uploaded.text);
      assert.match(uploaded.headers.location, /^\/jobs\//);

      // Another site's page: it may have copied a token, but the browser sends no cookie
      // (SameSite=Strict), or another session's.
      const other = await formSession(http);
      const noCookie = await http.post("/predict").type("form").send({ ...form, form_token: token });
      assert.equal(noCookie.status, 403);
      assert.match(noCookie.text, /reload the page/);
      const mixed = await http.post("/predict").type("form").set("Cookie", other.cookie).send({ ...form, form_token: token });
      assert.equal(mixed.status, 403);

      // A program with a token may post the form and upload as well; its upload gets JSON.
      await http.post("/predict").type("form").set("X-Api-Token", "alpha").send(form).expect(303);
      const apiUpload = await http.post("/predict").set("X-Api-Token", "alpha").attach("file", Buffer.from(csv), "f.csv");
      assert.equal(apiUpload.status, 202);
    } finally {
      await t.close();
    }
  });

  it("a form token from one web process verifies on another with the same API_TOKENS (no sticky sessions)", async () => {
    const a = await memoryApp({ API_TOKENS: "alpha" });
    const b = await memoryApp({ API_TOKENS: "alpha" });
    const c = await memoryApp({ API_TOKENS: "gamma" });
    try {
      const { cookie, token } = await formSession(request(a.app.callback()));
      const send = (t: typeof a) =>
        request(t.app.callback()).post("/predict").type("form").set("Cookie", cookie).send({ ...form, form_token: token });
      assert.equal((await send(b)).status, 303);
      assert.equal((await send(c)).status, 403, "another deployment's token does not verify");
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it("without API_TOKENS everything stays open, as the README's curl examples use it", async () => {
    const t = await memoryApp();
    const http = request(t.app.callback());
    try {
      await http.post("/predict").type("form").send(form).expect(303);
      const browserUpload = await http.post("/predict").attach("file", Buffer.from(csv), "f.csv").set("Accept", "text/html");
      assert.equal(browserUpload.status, 303);
      const programUpload = await http.post("/predict").attach("file", Buffer.from(csv), "f.csv");
      assert.equal(programUpload.status, 202);
    } finally {
      await t.close();
    }
  });
});

describe("submission rate limit", () => {
  const redis = testRedis();
  after(() => redis.disconnect());

  it("answers 429 with Retry-After past RATE_LIMIT_PER_MINUTE, shared by two web processes through Redis", async () => {
    const prefix = uniqueName("rl");
    const env = { RATE_LIMIT_PER_MINUTE: "3", IRIS_NAMESPACE: prefix };
    const a = await memoryApp(env, { limiter: createSubmissionLimiter({ perMinute: 3, store: asRateLimitStore(redis), prefix }) });
    const b = await memoryApp(env, { limiter: createSubmissionLimiter({ perMinute: 3, store: asRateLimitStore(redis), prefix }) });
    try {
      await request(a.app.callback()).post("/predict").type("form").send(form).expect(303);
      await request(b.app.callback()).post("/predict").type("form").send(form).expect(303);
      await request(a.app.callback()).post("/predict").type("form").send(form).expect(303);
      const res = await request(b.app.callback()).post("/predict").type("form").send(form).set("Accept", "application/json");
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers["retry-after"]) >= 1 && Number(res.headers["retry-after"]) <= 60);
      assert.match(res.body.error, /Too many submissions/);
      assert.equal((await b.queue.stats()).messages, 1, "only the accepted submission is queued");
      await request(b.app.callback()).get("/").expect(200); // reading stays open
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("keys clients by X-Forwarded-For only when TRUST_PROXY=1", async () => {
    for (const trust of ["1", "0"]) {
      const t = await memoryApp({ RATE_LIMIT_PER_MINUTE: "1", TRUST_PROXY: trust });
      const http = request(t.app.callback());
      try {
        await http.post("/predict").type("form").set("X-Forwarded-For", "203.0.113.1").send(form).expect(303);
        const other = await http.post("/predict").type("form").set("X-Forwarded-For", "203.0.113.2").send(form);
        assert.equal(other.status, trust === "1" ? 303 : 429, `TRUST_PROXY=${trust}`);
      } finally {
        await t.close();
      }
    }
  });
});

describe("a job's data is reachable only by its own id", () => {
  it("offers no listing, no traversal, and no hint in error messages", async () => {
    const t = await memoryApp({}, { worker: true });
    const http = request(t.app.callback());
    try {
      const id = (await http.post("/predict").type("form").send(form).expect(303)).headers.location.split("/").pop();
      for (const path of ["/jobs", "/jobs/", "/result", "/results_data/", `/iris-report-${id}.pdf`, "/tasks/model/iris-model.json"]) {
        const res = await http.get(path);
        assert.ok([400, 404].includes(res.status), `${path} → ${res.status}`);
      }
      for (const bad of ["../../etc/passwd", `${id}/../x`, `${id}%00`, id!.replace(/-/g, ""), `${id}.pdf`, "*"]) {
        const res = await http.get(`/result?jobid=${encodeURIComponent(bad)}`);
        assert.equal(res.status, 400, bad);
      }
      // Unknown ids all get the same sentence: nothing tells one unknown id from another.
      const a = await http.get(`/progress?jobid=${randomUUID()}`).expect(404);
      const b = await http.get(`/progress?jobid=${id!.slice(0, -1)}${id!.endsWith("0") ? "1" : "0"}`).expect(404);
      assert.deepEqual(a.body, b.body);
      assert.doesNotMatch(JSON.stringify(a.body), /[0-9a-f]{8}-/);
    } finally {
      await t.close();
    }
  });
});
