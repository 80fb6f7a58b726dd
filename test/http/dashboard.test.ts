import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import request from "supertest";
import { memoryApp } from "../helpers/memory-app.js";
import { waitFor } from "../helpers/wait-for.js";

const setosa = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

describe("dashboard off (the default)", () => {
  it("is not served at all", async () => {
    const t = await memoryApp();
    try {
      const http = request(t.app.callback());
      await http.get("/dashboard").expect(404);
      await http.get("/dashboard/data").set("Accept", "application/json").expect(404);
    } finally {
      await t.close();
    }
  });
});

describe("dashboard on without API_TOKENS", () => {
  it("is a configuration error: the dashboard never runs open", async () => {
    await assert.rejects(memoryApp({ DASHBOARD: "on" }), (err: Error) => {
      assert.equal(err.name, "ConfigError");
      assert.match(err.message, /DASHBOARD: on needs API_TOKENS/);
      return true;
    });
  });
});

describe("dashboard on (with a token sent)", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp({ DASHBOARD: "on", API_TOKENS: "tok" }, { worker: true });
    http = request.agent(t.app.callback()).set("X-Api-Token", "tok") as unknown as ReturnType<typeof request>;
  });
  after(() => t.close());

  it("the page shows the numbers and loads its script from a file (no inline script)", async () => {
    const res = await http.get("/dashboard").expect(200).expect("content-type", /html/);
    assert.match(res.text, /Queue dashboard/);
    assert.match(res.text, /<script src="\/dashboard.js" defer><\/script>/);
    assert.doesNotMatch(res.text, /<script>(?!<\/script>)|<script(?![^>]*\bsrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(res.text, /\sstyle="/, "no inline style");
    assert.match(res.text, /id="consumers">1</);
    assert.match(res.text, /No jobs yet/);
    await http
      .get("/dashboard.js")
      .expect(200)
      .expect("content-type", /javascript/);
    await http.get("/dashboard.css").expect(200).expect("content-type", /css/);
  });

  it("/dashboard/data lists the last jobs newest first with state, duration and links", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await http.post("/predict").type("form").send(setosa).expect(303);
      ids.push(res.headers.location.split("/").pop()!);
    }
    const data = await waitFor(async () => {
      const body = (await http.get("/dashboard/data").expect(200).expect("cache-control", "no-store")).body;
      return body.recent.length === 3 && body.recent.every((j: { state: string }) => j.state === "SUCCESS")
        ? body
        : null;
    });
    assert.deepEqual(
      data.recent.map((j: { jobid: string }) => j.jobid),
      [...ids].reverse(),
    );
    const job = data.recent[0];
    assert.equal(job.page_url, `/jobs/${ids[2]}`);
    assert.equal(job.progress_url, `/progress?jobid=${ids[2]}`);
    assert.equal(job.result_url, `/result?jobid=${ids[2]}`);
    assert.equal(job.result, "setosa");
    assert.equal(typeof job.duration_ms, "number");
    assert.deepEqual(data.queue, { depth: 0, consumers: 1 });
    assert.equal(data.jobs.submitted, 3);
    assert.equal(data.jobs.succeeded, 3);
    assert.equal(data.jobs.per_minute, 3);
    const page = await http.get("/dashboard").expect(200);
    for (const id of ids) assert.ok(page.text.includes(`href="/jobs/${id}"`), "the page lists the job");
  });

  it("shows at most 50 jobs", async () => {
    for (let i = 0; i < 52; i++) await http.post("/predict").type("form").send(setosa).expect(303);
    const data = (await http.get("/dashboard/data").expect(200)).body;
    assert.equal(data.recent.length, 50);
  });
});

describe("dashboard on, behind API_TOKENS", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let http: ReturnType<typeof request>;
  before(async () => {
    t = await memoryApp({ DASHBOARD: "on", API_TOKENS: "tok-one,tok-two" });
    http = request(t.app.callback());
  });
  after(() => t.close());

  it("refuses without a token, or with a wrong one: 401 with a sentence, as JSON or a page", async () => {
    const json = await http.get("/dashboard/data").set("Accept", "application/json").expect(401);
    assert.match(json.body.error, /needs an API token/);
    await http.get("/dashboard/data").set("X-Api-Token", "nope").expect(401);
    const page = await http.get("/dashboard").set("Accept", "text/html").expect(401).expect("content-type", /html/);
    assert.match(page.text, /needs an API token/);
    await http.get("/dashboard?token=tok-onex").expect(401);
  });

  it("accepts any configured token as X-Api-Token", async () => {
    await http.get("/dashboard").set("X-Api-Token", "tok-one").expect(200);
    await http.get("/dashboard/data").set("X-Api-Token", "tok-two").expect(200);
  });

  it("accepts ?token= once: sets an HttpOnly cookie and redirects to the address without it", async () => {
    const res = await http.get("/dashboard?token=tok-two").expect(302);
    assert.equal(res.headers.location, "/dashboard");
    const cookie = res.headers["set-cookie"]![0]!;
    assert.match(cookie, /^iris_dashboard_session=\d{13}\.[\w-]{43};/);
    assert.doesNotMatch(cookie, /tok-two/, "the cookie does not hold the token");
    assert.match(cookie, /path=\/dashboard/);
    assert.match(cookie, /httponly/i);
    assert.match(cookie, /samesite=strict/i);
    const pair = cookie.split(";")[0]!;
    await http.get("/dashboard").set("Cookie", pair).expect(200);
    await http.get("/dashboard/data").set("Cookie", pair).expect(200);
    await http.get("/dashboard/data").set("Cookie", "iris_dashboard_session=forged").expect(401);
    await http.get("/dashboard/data").set("Cookie", "iris_dashboard_token=tok-two").expect(401);
    // A session signed with a token that is not configured (here: its expiry re-signed by someone
    // who guessed wrong) does not pass, and a valid one does not outlive its expiry.
    const [expires] = pair.split("=")[1]!.split(".");
    const forged = `iris_dashboard_session=${Number(expires) + 1000}.${pair.split(".")[1]}`;
    await http.get("/dashboard/data").set("Cookie", forged).expect(401);
  });

  it("leaves the rest of the service as it was", async () => {
    await http.get("/healthz").expect(200);
    await http.get("/").expect(200);
  });
});
