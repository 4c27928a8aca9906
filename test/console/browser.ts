/**
 * Debian's Chromium driven by playwright-core, for the console's browser tests: headless, a fresh
 * profile each run, and nothing that reaches beyond the machine. Without Chromium the browser
 * tests are skipped (and say why); everything else still runs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const REPO_ROOT = path.resolve(__dirname, "..", "..");
/** Git-ignored; the run prints each screenshot's path. */
export const SCREENSHOT_DIR = path.join(REPO_ROOT, "test-results", "console");

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export const hasChromium = existsSync(CHROMIUM);

/** `describe`, or `describe.skip` with the reason printed, when there is no Chromium. */
export function describeInBrowser(name: string, body: () => void): void {
  if (hasChromium) return describe(name, body);
  console.warn(
    `Skipping the browser tests "${name}": no Chromium at ${CHROMIUM} ` +
      "(apt-get install chromium, or set CHROMIUM_PATH)",
  );
  describe.skip(name, body);
}

export interface Browser {
  page: Page;
  /** Saves a full-page PNG under test-results/console/ and prints its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface BrowserOptions {
  /** Take self-signed certificates (a local https sign-in authority's). */
  ignoreHTTPSErrors?: boolean;
}

export async function openBrowser(options: BrowserOptions = {}): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), "console-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 900 },
      timeout: 30_000,
      ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  // The page's own errors fail the test that caused them, with their text.
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    page,
    async screenshot(name) {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      console.log(`screenshot: ${file}`);
      if (pageErrors.length > 0) throw new Error(`the page failed: ${pageErrors.join("; ")}`);
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
