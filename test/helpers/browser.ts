import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";

/** Debian's chromium (scripts/test-services.sh installs it when missing); never a downloaded one. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Flags for a quiet, self-contained headless run: no GPU, no sandbox (tests run as root), and none
 * of Chrome's own background traffic, so "no request leaves localhost" is about the page alone.
 */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-dev-shm-usage",
];

/**
 * Launches chromium with a fresh profile: playwright's launch() always makes a new temporary
 * user-data-dir and removes it on close (passing --user-data-dir yourself is refused by it).
 * `extraArgs` are added to CHROMIUM_ARGS.
 */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run the suite with \`npm test\` (it installs chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, ...extraArgs], timeout: 60_000 });
}

/** What a page did, recorded for assertions. */
export interface PageRecord {
  page: Page;
  context: BrowserContext;
  /** Every URL the page or its frames requested, including WebSockets. */
  requests: string[];
  /** console.error lines, page errors and CSP violations, as text. */
  problems: string[];
  /** CSP violations reported in the page (securitypolicyviolation events). */
  cspViolations(): Promise<string[]>;
}

/** Opens a page in a new context and records its requests, console errors, page errors and CSP violations. */
export async function recordedPage(
  browser: Browser,
  opts: { viewport?: { width: number; height: number }; ignoreConsole?: (text: string, url: string) => boolean } = {},
): Promise<PageRecord> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 900 }, acceptDownloads: true });
  // Runs before any page script (via CDP, so the page's own CSP does not apply to it).
  await context.addInitScript(() => {
    const w = window as unknown as { __csp: string[] };
    w.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      w.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  const page = await context.newPage();
  const requests: string[] = [];
  const problems: string[] = [];
  context.on("request", (r) => requests.push(r.url()));
  page.on("websocket", (ws) => requests.push(ws.url()));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    const url = m.location().url ?? "";
    if (opts.ignoreConsole?.(m.text(), url)) return;
    problems.push(`console.error: ${m.text()} (${url})`);
  });
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  return {
    page,
    context,
    requests,
    problems,
    async cspViolations() {
      const all: string[] = [];
      for (const frame of page.frames()) {
        const found = await frame.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []).catch(() => []);
        all.push(...found);
      }
      return all;
    },
  };
}

/**
 * Requests that left the machine: anything but http(s)/ws(s) to loopback. Chrome's built-in PDF
 * viewer loads its own code from chrome-extension:// and chrome:// (inside the browser, no network);
 * data:/blob: never touch the network either.
 */
export function offHostRequests(urls: string[]): string[] {
  return urls.filter((raw) => {
    const url = new URL(raw);
    if (["chrome-extension:", "chrome:", "data:", "blob:", "about:"].includes(url.protocol)) return false;
    return !(["http:", "https:", "ws:", "wss:"].includes(url.protocol) && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname));
  });
}
