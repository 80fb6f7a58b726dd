// The operator's dashboard in Debian's chromium: opened with ?token= like a person would, it
// updates by itself (no reload) when jobs arrive, with no console error.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser } from "playwright-core";
import { memoryApp } from "../helpers/memory-app.js";
import { freePort } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait-for.js";

const TOKEN = "dash-token-e2e";
const setosa = { sepal_length: "5.1", sepal_width: "3.5", petal_length: "1.4", petal_width: "0.2" };

describe("dashboard in chromium (web + worker in one process, memory adapters)", () => {
  let t: Awaited<ReturnType<typeof memoryApp>>;
  let server: Server;
  let browser: Browser;
  let base = "";

  before(async () => {
    t = await memoryApp({ DASHBOARD: "on", API_TOKENS: TOKEN }, { worker: true });
    const port = await freePort();
    server = createServer(t.app.callback());
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    base = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
    await t?.close();
  });

  it("opens with ?token=, drops the token from the address, and shows new jobs live", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(e.message));

    await page.goto(`${base}/dashboard?token=${TOKEN}`);
    assert.equal(new URL(page.url()).search, "", "the token left the address bar");
    assert.equal(await page.textContent("#consumers"), "1");
    assert.match((await page.textContent("#jobs"))!, /No jobs yet/);

    // Jobs submitted elsewhere after the page loaded appear without a reload.
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/predict`, {
        method: "POST",
        headers: { "X-Api-Token": TOKEN },
        body: new URLSearchParams(setosa),
        redirect: "manual",
      });
      ids.push(res.headers.get("location")!.split("/").pop()!);
    }
    await page.waitForSelector(`tr[data-jobid="${ids[1]}"].state-success`, { timeout: 10_000 });
    const rows = await page.$$eval("#jobs tr", (trs) => trs.map((tr) => (tr as HTMLElement).dataset.jobid));
    assert.deepEqual(rows, [...ids].reverse(), "newest first");
    await waitFor(async () => (await page.textContent("#succeeded")) === "2", { timeoutMs: 5000, what: "tile update" });
    assert.equal(await page.textContent("#submitted"), "2");
    const pdfLink = await page.getAttribute(`tr[data-jobid="${ids[0]}"] a[href^="/result"]`, "href");
    assert.equal(pdfLink, `/result?jobid=${ids[0]}`);
    assert.equal(await page.isHidden("#stale"), true);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it("without a token the browser gets the 401 page, not the dashboard", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const res = await page.goto(`${base}/dashboard`);
    assert.equal(res!.status(), 401);
    assert.match((await page.textContent("body"))!, /needs an API token/);
    await context.close();
  });
});
