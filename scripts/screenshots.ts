// npm run screenshots: starts the embedded app (web + worker, in memory) on a free port, drives
// Debian's chromium through the form and the progress page, renders page 1 of the report with
// pdftoppm, and writes docs/screenshots/*.png for the README. Re-run after changing a page.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { launchChromium } from "../test/helpers/browser.js";
import { freePort } from "../test/helpers/processes.js";
import { waitFor } from "../test/helpers/wait-for.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const OUT = join(ROOT, "docs", "screenshots");
const VIRGINICA = { sepal_length: "6.7", sepal_width: "3.0", petal_length: "5.8", petal_width: "2.2" };

async function main() {
  mkdirSync(OUT, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The embedded mode: no RabbitMQ/Redis needed, whatever this shell has exported.
  const env: Record<string, string | undefined> = { ...process.env, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn" };
  delete env.RABBITMQ_URL;
  delete env.REDIS_URL;
  env.RESULTS_DIR = mkdtempSync(join(tmpdir(), "iris-shots-"));
  const app = spawn(process.execPath, ["--import", "tsx", "app/embedded.ts"], { cwd: ROOT, env, stdio: "inherit" });
  const browser = await launchChromium();
  try {
    await waitFor(async () => (await fetch(`${base}/`).catch(() => null))?.ok, { timeoutMs: 30_000, what: "the app" });

    const desktop = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await desktop.newPage();
    await page.goto(`${base}/`);
    await page.click('button[data-example="versicolor"]');
    await shot(page, "form.png");

    // The finished progress page, typed in like a person would.
    await page.goto(`${base}/`);
    for (const [name, value] of Object.entries(VIRGINICA)) await page.fill(`#${name}`, value);
    await page.click('button[type="submit"]');
    await page.waitForFunction(() => (document.getElementById("bar") as HTMLProgressElement).value === 100);
    await page.waitForSelector("#preview:not([hidden])");
    // Give the PDF viewer in the preview frame time to load.
    await page.waitForTimeout(2000);
    await shot(page, "progress-done.png");
    const jobid = await page.locator("#job").getAttribute("data-jobid");

    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    await phonePage.goto(`${base}/`);
    await phonePage.click('button[data-example="setosa"]');
    await shot(phonePage, "form-phone.png");
    // The form refusing an out-of-range value, on the phone (browser checks bypassed to show the server's answer).
    await phonePage.fill("#petal_length", "12");
    await phonePage.evaluate(() => ((document.getElementById("predict-form") as HTMLFormElement).noValidate = true));
    await phonePage.click('button[type="submit"]');
    await phonePage.waitForSelector("#petal_length-error");
    await shot(phonePage, "form-error-phone.png");
    await phonePage.goto(`${base}/jobs/${jobid}`);
    await phonePage.waitForSelector("#success:not([hidden])");
    await shot(phonePage, "progress-done-phone.png");

    // Page 1 of the report, as pdftoppm renders it.
    const pdf = Buffer.from(await (await fetch(`${base}/result?jobid=${jobid}`)).arrayBuffer());
    const file = join(mkdtempSync(join(tmpdir(), "iris-shots-pdf-")), "report.pdf");
    writeFileSync(file, pdf);
    execFileSync("pdftoppm", ["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", file, join(OUT, "report")]);
    console.log(`wrote ${join("docs", "screenshots", "report.png")}`);
  } finally {
    await browser.close();
    app.kill("SIGTERM");
  }
}

async function shot(page: Page, name: string) {
  // Grow the viewport to the whole page first: the PDF viewer in the preview frame only paints
  // what is inside the viewport, so a plain full-page capture shows it half blank.
  const size = page.viewportSize()!;
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (height > size.height) {
    await page.setViewportSize({ width: size.width, height });
    if (await page.locator("#preview:not([hidden])").count()) await page.waitForTimeout(2000);
  }
  await page.screenshot({ path: join(OUT, name), fullPage: true });
  await page.setViewportSize(size);
  console.log(`wrote ${join("docs", "screenshots", name)}`);
}

await main();
