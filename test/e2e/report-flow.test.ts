// A person's whole flow in Debian's chromium against the real stack (web + worker processes on
// RabbitMQ and Redis): form → live progress → species → PDF download; over socket.io, and again
// with the socket unavailable so the page falls back to polling /progress.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { launchChromium, offHostRequests, recordedPage, type PageRecord } from "../helpers/browser.js";
import { startProcess } from "../helpers/processes.js";
import { startStack, type Stack } from "../helpers/stack.js";

interface PageStatus {
  mode: string;
  events: number;
  polls: number;
  stages: string[];
}

const ALL_STAGES = ["queued", "validating", "classifying", "rendering", "saving", "done"];

const status = (page: Page) => page.evaluate(() => ({ ...(window as unknown as { irisProgress: { status: PageStatus } }).irisProgress.status }));

/** Waits until the page follows its queued job the given way ("socket" or "polling"). */
async function waitForMode(page: Page, mode: string) {
  await page.waitForFunction(
    (m) => {
      const s = (window as unknown as { irisProgress?: { status: PageStatus } }).irisProgress?.status;
      return s?.mode === m && (m !== "polling" || s.polls > 0);
    },
    mode,
    { timeout: 15_000 },
  );
  assert.equal(await page.textContent("#stage"), "Waiting in the queue");
  assert.equal(await page.locator("#bar").evaluate((b) => (b as HTMLProgressElement).value), 0);
}

async function waitForFullBar(page: Page) {
  await page.waitForFunction(() => (document.getElementById("bar") as HTMLProgressElement | null)?.value === 100, null, {
    timeout: 30_000,
  });
}

/** Downloads the PDF through the page's link and checks it with qpdf and pdftotext. */
async function downloadAndCheck(page: Page, expect: { species: string; inputs: string[] }) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  assert.match(download.suggestedFilename(), /^iris-report-[0-9a-f-]{36}\.pdf$/);
  const file = join(mkdtempSync(join(tmpdir(), "iris-e2e-")), download.suggestedFilename());
  await download.saveAs(file);
  execFileSync("qpdf", ["--check", file]); // throws on a non-zero exit
  const text = execFileSync("pdftotext", ["-layout", file, "-"]).toString();
  assert.match(text, new RegExp(expect.species));
  for (const v of expect.inputs) assert.ok(text.includes(v), `the PDF shows input ${v}`);
}

/** The things every page visit must not do. */
async function assertClean(rec: PageRecord) {
  assert.deepEqual(offHostRequests(rec.requests), [], "no request leaves localhost");
  assert.deepEqual(rec.problems, [], "no console error, page error or CSP report");
  assert.deepEqual(await rec.cspViolations(), [], "no Content-Security-Policy violation");
}

describe("the report flow in chromium (web + worker on RabbitMQ + Redis)", () => {
  let stack: Stack;
  let browser: Browser;
  let base = "";

  before(async () => {
    // No worker at first: each test lands on the page of a queued job, checks how the page follows
    // it, then starts a worker and watches the bar move to 100%.
    stack = await startStack({ webs: 1, workers: 0, kind: "e2e" });
    base = stack.webs[0]!;
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    const codes = await stack.stop();
    assert.deepEqual(codes, codes.map(() => 0), "every process exits 0 on SIGTERM");
  });

  /** Runs a worker process until the page's bar is full, then stops it (exit 0). */
  const runWorkerUntilDone = async (page: Page) => {
    const worker = await startProcess("tasks/main.ts", stack.env, { readyMsg: "worker ready" });
    try {
      await waitForFullBar(page);
    } finally {
      assert.equal(await worker.stop("SIGTERM"), 0, "the worker exits 0");
    }
  };

  it("typical-virginica button → submit → bar to 100% over socket.io → species, preview, PDF", async () => {
    const rec = await recordedPage(browser);
    const { page } = rec;
    const response = await page.goto(`${base}/`);
    assert.match(response!.headers()["content-security-policy"] ?? "", /default-src 'self'/);
    assert.equal(await page.locator("script:not([src])").count(), 0, "no inline script");

    await page.click('button[data-example="virginica"]');
    assert.deepEqual(
      await page.$$eval("form input[type=number]", (els) => (els as HTMLInputElement[]).map((e) => e.value)),
      ["6.7", "3.0", "5.8", "2.2"],
    );
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('button[type="submit"]')]);
    assert.equal(await page.locator("#bar").getAttribute("aria-labelledby"), "stage", "the bar is named by the stage");
    await waitForMode(page, "socket");
    await runWorkerUntilDone(page);

    await page.locator("#success").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#species"), "virginica");
    assert.equal(await page.textContent("#stage"), "Done");
    assert.equal(await page.textContent("#percent"), "100%");
    const rows = await page.$$eval("#probabilities tbody tr", (trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, " ").trim()));
    assert.equal(rows.length, 3);
    assert.ok(rows.some((r) => /virginica 9\d\.\d%/i.test(r)), rows.join(" | "));
    const jobid = await page.getAttribute("#job", "data-jobid");
    assert.equal(await page.getAttribute("#preview", "src"), `/result?jobid=${jobid}&inline=1#navpanes=0&view=Fit`);
    assert.ok(await page.isVisible("#preview"));

    const s = await status(page);
    assert.deepEqual(s.stages, ALL_STAGES, "the page showed every stage, live");
    assert.equal(s.events, ALL_STAGES.length, "each one a socket event");
    assert.equal(s.polls, 0, "and never by polling");
    assert.ok(rec.requests.some((u) => /^ws:\/\/127\.0\.0\.1:\d+\/socket\.io\/\?.*transport=websocket/.test(u)), "a WebSocket to /socket.io");
    assert.ok(!rec.requests.some((u) => u.includes("transport=polling")), "the WebSocket transport only");
    assert.ok(!rec.requests.some((u) => u.includes("/progress?")), "no /progress polling");

    await downloadAndCheck(page, { species: "virginica", inputs: ["6.7", "3.0", "5.8", "2.2"] });
    await assertClean(rec);
    await rec.context.close();
  });

  it("typed values with /socket.io blocked → the page polls /progress to 100% → species and PDF", async () => {
    const blocked: string[] = [];
    const rec = await recordedPage(browser, {
      // The blocked script's own load failure is the point of this test, not a page problem.
      ignoreConsole: (text, url) => url.includes("/socket.io/") && text.includes("Failed to load resource"),
    });
    const { page } = rec;
    await page.route("**/socket.io/**", (route) => {
      blocked.push(route.request().url());
      return route.abort();
    });
    await page.goto(`${base}/`);
    for (const [name, value] of Object.entries({ sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" })) {
      await page.locator(`#${name}`).pressSequentially(value);
    }
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.press("#petal_width", "Enter")]);
    await waitForMode(page, "polling");
    await runWorkerUntilDone(page);
    await page.locator("#success").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#species"), "setosa");

    const s = await status(page);
    assert.ok(blocked.length >= 1, "the socket.io client was requested and refused");
    assert.equal(s.events, 0, "no socket events");
    assert.ok(s.polls >= 1, "the page polled");
    assert.ok(rec.requests.some((u) => u.includes("/progress?jobid=")));

    await downloadAndCheck(page, { species: "setosa", inputs: ["5.1", "3.5", "1.4", "0.2"] });
    await assertClean(rec);
    await rec.context.close();
  });

  it("the socket.io client loads but its WebSocket never opens → falls back to polling and still finishes", async () => {
    const rec = await recordedPage(browser);
    const { page } = rec;
    let refused = 0;
    // A mocked WebSocket that never reaches the server (like a proxy that swallows the upgrade):
    // the page must give up on it within the client's connect timeout and poll instead.
    await page.routeWebSocket(/\/socket\.io\//, (ws) => {
      refused++;
      void ws.close({ code: 1011, reason: "refused by the test" });
    });
    await page.goto(`${base}/`);
    await page.click('button[data-example="versicolor"]');
    await Promise.all([page.waitForURL(/\/jobs\//), page.click('button[type="submit"]')]);
    await waitForMode(page, "polling");
    await runWorkerUntilDone(page);
    await page.locator("#success").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#species"), "versicolor");
    const s = await status(page);
    assert.ok(refused >= 1, "the page tried the WebSocket");
    assert.equal(s.events, 0);
    assert.ok(s.polls >= 1, "and then polled");
    await assertClean(rec);
    await rec.context.close();
  });
});
