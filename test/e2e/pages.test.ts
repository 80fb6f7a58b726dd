// The form and the progress page in Debian's chromium against a real web process (RabbitMQ +
// Redis, no worker): browser-side limits, the server's refusal beside the field, a queued job
// followed live, a failure with its reason and a way back, and phone-sized layouts.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { createRedisStore } from "../../tasks/store/redis.js";
import type { JobStore } from "../../tasks/store/types.js";
import { launchChromium, offHostRequests, recordedPage, type PageRecord } from "../helpers/browser.js";
import { testRedis } from "../helpers/services.js";
import { startStack, type Stack } from "../helpers/stack.js";

const SETOSA = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

async function assertClean(rec: PageRecord) {
  assert.deepEqual(offHostRequests(rec.requests), [], "no request leaves localhost");
  assert.deepEqual(rec.problems, [], "no console error, page error or CSP report");
  assert.deepEqual(await rec.cspViolations(), [], "no Content-Security-Policy violation");
}

const fill = async (page: Page, values: Record<string, string>) => {
  for (const [name, value] of Object.entries(values)) await page.fill(`#${name}`, value);
};

describe("the pages in chromium (web process on RabbitMQ + Redis, no worker)", () => {
  let stack: Stack;
  let browser: Browser;
  let store: JobStore;
  let base = "";

  before(async () => {
    stack = await startStack({ webs: 1, workers: 0, kind: "pages" });
    base = stack.webs[0]!;
    store = createRedisStore({ client: testRedis(), ttlSeconds: 600, prefix: stack.ns });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await store.close();
    const codes = await stack.stop();
    assert.deepEqual(codes, codes.map(() => 0), "every process exits 0 on SIGTERM");
  });

  it("the inputs carry the server's limits, and the browser refuses out-of-range values before sending", async () => {
    const rec = await recordedPage(browser);
    const { page } = rec;
    await page.goto(`${base}/`);
    for (const name of Object.keys(SETOSA)) {
      const attrs = await page.$eval(`#${name}`, (el) => {
        const i = el as HTMLInputElement;
        return { type: i.type, min: i.min, max: i.max, step: i.step, required: i.required };
      });
      assert.deepEqual(attrs, { type: "number", min: "0.01", max: "10", step: "0.01", required: true }, name);
    }
    await fill(page, { ...SETOSA, sepal_length: "10.5" });
    const posts: string[] = [];
    page.on("request", (r) => r.method() === "POST" && posts.push(r.url()));
    await page.click('button[type="submit"]');
    assert.equal(await page.$eval("#sepal_length", (el) => (el as HTMLInputElement).validity.rangeOverflow), true);
    assert.equal(new URL(page.url()).pathname, "/", "still on the form");
    assert.deepEqual(posts, [], "nothing was sent");
    await assertClean(rec);
    await rec.context.close();
  });

  it("an out-of-range value sent anyway comes back with the server's error beside the field and the values kept", async () => {
    const rec = await recordedPage(browser, {
      // The refused submission is a 400 document; Chrome logs that status, which is the point here.
      ignoreConsole: (text, url) => new URL(url).pathname === "/predict" && /status of 400/.test(text),
    });
    const { page } = rec;
    await page.goto(`${base}/`);
    await page.click('button[data-example="setosa"]');
    await page.fill("#petal_length", "12");
    await page.fill("#sepal_width", "0");
    // Bypass the browser's own check to see the server's answer.
    await page.$eval("#predict-form", (form) => ((form as HTMLFormElement).noValidate = true));
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click('button[type="submit"]')]);
    assert.equal(response.status(), 400);
    await page.waitForSelector("#petal_length-error");

    const field = page.locator(".field", { has: page.locator("#petal_length") });
    assert.equal(await field.locator(".error").textContent(), "Petal length must be at most 10.");
    assert.equal(await page.locator(".field", { has: page.locator("#sepal_width") }).locator(".error").textContent(), "Sepal width must be greater than 0.");
    assert.equal(await page.inputValue("#petal_length"), "12", "the wrong value is kept");
    assert.equal(await page.inputValue("#sepal_width"), "0");
    assert.equal(await page.inputValue("#sepal_length"), "5.1", "the right values too");
    assert.equal(await page.inputValue("#petal_width"), "0.2");
    assert.equal(await page.getAttribute("#petal_length", "aria-invalid"), "true");
    assert.match((await page.getAttribute("#petal_length", "aria-describedby"))!, /petal_length-error/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), "sepal_width", "focus on the first field in error");
    assert.equal(await page.locator("#sepal_length-error").count(), 0, "no error where there is none");

    // Correcting the value and sending again works.
    await page.fill("#petal_length", "1.4");
    await page.fill("#sepal_width", "3.5");
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('button[type="submit"]')]);
    await assertClean(rec);
    await rec.context.close();
  });

  it("follows a queued job live, then shows a failure's reason and a way back with the values filled in", async () => {
    const rec = await recordedPage(browser);
    const { page } = rec;
    await page.goto(`${base}/`);
    await fill(page, SETOSA);
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('button[type="submit"]')]);
    const jobid = (await page.getAttribute("#job", "data-jobid"))!;
    await page.waitForFunction(() => (window as unknown as { irisProgress: { status: { mode: string } } }).irisProgress.status.mode === "socket");
    assert.equal(await page.textContent("#badge"), "Queued");

    // This test writes to the store as a worker would; the page hears it over socket.io.
    await store.update(jobid, { state: "PROGRESS", stage: "classifying", progress: 0.3 });
    await page.waitForFunction(() => (document.getElementById("bar") as HTMLProgressElement).value === 30);
    assert.equal(await page.textContent("#stage"), "Classifying the flower");
    assert.equal(await page.textContent("#badge"), "Working");
    assert.equal(await page.getAttribute('#steps li[data-stage="classifying"]', "class"), "current");
    assert.equal(await page.getAttribute('#steps li[data-stage="validating"]', "class"), "done");

    await store.update(jobid, { state: "FAILURE", stage: "failed", progress: 1, error: "The report could not be drawn. Please try again." });
    await page.locator("#failure").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#error"), "The report could not be drawn. Please try again.");
    assert.equal(await page.textContent("#badge"), "Failed");
    assert.ok(await page.isHidden("#success"));
    const status = await page.evaluate(() => ({ ...(window as unknown as { irisProgress: { status: { polls: number } } }).irisProgress.status }));
    assert.equal(status.polls, 0, "live over the socket, no polling");

    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.click("#retry")]);
    assert.equal(await page.inputValue("#sepal_length"), "5.1");
    assert.equal(await page.inputValue("#petal_width"), "0.2");
    await assertClean(rec);
    await rec.context.close();
  });

  it("an unknown job's page says so, with a way back to the form", async () => {
    const rec = await recordedPage(browser, {
      // The 404 document itself is what this test asks for; Chrome logs its status.
      ignoreConsole: (text, url) => new URL(url).pathname.startsWith("/jobs/") && /status of 404/.test(text),
    });
    const { page } = rec;
    const response = await page.goto(`${base}/jobs/${randomUUID()}`);
    assert.equal(response!.status(), 404);
    assert.equal(await page.textContent("h1"), "Not found");
    await Promise.all([page.waitForURL((u) => u.pathname === "/"), page.click("text=Back to the form")]);
    await assertClean(rec);
    await rec.context.close();
  });

  it("fits a phone: no sideways scrolling on the form or the progress page, buttons big enough to tap", async () => {
    const rec = await recordedPage(browser, { viewport: { width: 360, height: 740 } });
    const { page } = rec;
    const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    await page.goto(`${base}/`);
    assert.ok(await noSideways(), "form fits 360 px");
    for (const b of await page.locator("button").all()) {
      const box = (await b.boundingBox())!;
      assert.ok(box.height >= 40, `a tap target is ${box.height}px tall`);
    }
    await page.click('button[data-example="virginica"]');
    await Promise.all([page.waitForURL(/\/jobs\//), page.click('button[type="submit"]')]);
    assert.ok(await noSideways(), "progress page fits 360 px");
    await assertClean(rec);
    await rec.context.close();
  });
});
