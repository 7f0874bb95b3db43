import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * What the portal's browser suites share: Debian's Chromium through playwright-core (CI installs it,
 * .ci/run), the portal built from portal/ into a directory of the run's own, and pages that record
 * every console error and uncaught exception.
 */
export const CHROMIUM = process.env.CERULEAN_TEST_CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Whether Chromium is there; when it is not, says which suite is skipped (or throws when
 * CERULEAN_REQUIRE_SERVICES=1, as in CI, where a skipped suite would hide a failure).
 */
export function chromiumAvailable(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CERULEAN_REQUIRE_SERVICES === '1')
    throw new Error(`Chromium is not installed at ${CHROMIUM}; .ci/run installs it (apt-get install chromium)`);
  console.warn(`Chromium not found at ${CHROMIUM}: skipped ${suite}; install it (apt-get install chromium) or set CERULEAN_TEST_CHROMIUM`);
  return false;
}

/** The portal as `npm run build` makes it, into a new directory; returns the directory (for `portal.directory`). */
export function buildPortal(): string {
  const directory = mkdtempSync(join(tmpdir(), 'cerulean-portal-build-'));
  const build = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'portal/vite.config.ts', '--outDir', directory, '--emptyOutDir', '--logLevel', 'warn'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (build.status !== 0) throw new Error(`building the portal failed:\n${build.stdout}${build.stderr}`);
  return directory;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** A page that records every console error and uncaught exception. */
export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  errors: string[];
}

/** A fresh browser context (no storage shared with other pages) and its page, clipboard allowed for `origin`. */
export async function openPage(browser: Browser, origin: string, viewport = { width: 1440, height: 900 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return { page, context, errors };
}

/** Evaluates an expression in the page (written as text: the tests are type-checked without the DOM's types). */
export function inPage<T = unknown>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Signs in on the portal at `origin` with a pasted credential. */
export async function signIn(page: Page, origin: string, credential: string): Promise<void> {
  await page.goto(`${origin}/portal/`);
  await page.getByLabel('Master key, API key or access token').fill(credential);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}
