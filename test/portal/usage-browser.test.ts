import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { buildPortal, chromiumAvailable, launchChromium, openPage, signIn } from '../helpers/portal-browser.js';

/**
 * The Overview, Usage and Quotas & budgets pages in Chromium: requests made with a project's key
 * through the fixture upstream appear, once the ledger is flushed, in the overview's totals and
 * charts, in the usage table and its CSV export, and as spend against the project's budget.
 */
const available = chromiumAvailable('test/portal/usage-browser.test.ts');

let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;
let browser: Browser;
let keyId: string;
let spentUsd: number;

beforeAll(async () => {
  if (!available) return;
  const portal = buildPortal();
  upstream = await startOpenAIFixture();
  cerulean = await startGovernedCerulean(`
portal: { directory: ${JSON.stringify(portal)} }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Search', id: 'proj_usage' })).status).toBe(201);
  expect((await cerulean.admin('PATCH', '/deployments/chat', { input_per_million: 1000, output_per_million: 2000 })).status).toBe(200);
  expect((await cerulean.admin('PUT', '/projects/proj_usage/quotas/chat', { tpm: 20000 })).status).toBe(200);
  expect((await cerulean.admin('PUT', '/budgets/project/proj_usage', { daily_usd: 5 })).status).toBe(200);
  const key = await cerulean.admin('POST', '/projects/proj_usage/keys', { name: 'ci' });
  expect(key.status).toBe(201);
  keyId = key.body.id;
  const client = new OpenAI({ apiKey: key.body.key, baseURL: `${cerulean.url}/v1` });
  for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: `hello ${i}` }], max_tokens: 16 });
  await cerulean.governance.ledger.flush();
  const [total] = await cerulean.governance.storage.usage.query({ projectId: 'proj_usage' }, []);
  expect(total.requests).toBe(3);
  spentUsd = total.cost / 1_000_000;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await cerulean?.close();
  await upstream?.close();
});

describe.skipIf(!available)('usage pages in Chromium', () => {
  it('shows the requests on the overview, in the usage table and its CSV, and the spend against the budget', async () => {
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await signIn(page, cerulean.url, MASTER_KEY);
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      const totals = page.getByLabel('Totals');
      await expect.poll(() => totals.textContent()).toMatch(/Requests3Tokens[\d,]+Cost\$[\d.]+Error rate0\.0%/);
      // The chart is drawn (SVG by recharts) with the project on its axis.
      const chart = page.getByRole('figure', { name: 'Requests per project' });
      await chart.locator('.recharts-bar-rectangle').first().waitFor();
      expect(await chart.locator('.recharts-cartesian-axis-tick-value').allTextContents()).toContain('proj_usage');
      await page.getByRole('figure', { name: 'Cost per deployment' }).locator('.recharts-bar-rectangle').first().waitFor();
      // A share runs from 0% to 100%, whatever the data (all zero here: recharts alone drew 0-400%).
      const errorTicks = await page.getByRole('figure', { name: 'Error rate per project' }).locator('.recharts-cartesian-axis-tick-value').allTextContents();
      expect(errorTicks).toContain('100.0%');
      expect(errorTicks).not.toContain('400.0%');
      const meter = page.getByRole('meter', { name: 'Project proj_usage, today' });
      await meter.waitFor();
      expect(Number(await meter.getAttribute('value'))).toBeCloseTo(spentUsd / 5, 6);

      await page.getByRole('link', { name: 'Usage' }).click();
      await page.getByRole('heading', { name: 'Usage' }).waitFor();
      await page.getByLabel('Project', { exact: true }).selectOption('proj_usage');
      await page.getByRole('checkbox', { name: 'key', exact: true }).check();
      await page.getByRole('button', { name: 'Show usage' }).click();
      const row = page.getByRole('row').filter({ hasText: keyId });
      await expect.poll(() => row.textContent()).toMatch(new RegExp(`proj_usage${keyId}chat3`));
      await page.getByRole('figure', { name: 'Requests per project and key and deployment' }).locator('.recharts-bar-rectangle').first().waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
      const csv = readFileSync((await download.path()) as string, 'utf8').split('\r\n');
      expect(csv[0]).toBe('project,key,deployment,requests,prompt_tokens,cached_tokens,completion_tokens,cost_usd,errors');
      expect(csv[1]).toMatch(new RegExp(`^proj_usage,${keyId},chat,3,\\d+,0,\\d+,${spentUsd},0$`));
      // The same as the API's own export.
      const exported = await cerulean.admin('GET', '/usage?project=proj_usage&group_by=project,key,deployment&format=csv');
      expect(String(exported.body).split('\r\n')[1]).toBe(csv[1]);

      // Filters are checked before anything is sent.
      await page.getByLabel('From').fill('2030-01-02');
      await page.getByLabel('To (inclusive)').fill('2030-01-01');
      await page.getByRole('button', { name: 'Show usage' }).click();
      await page.getByText('The end date is before the start date.').waitFor();

      await page.getByRole('link', { name: 'Quotas & budgets' }).click();
      await page.getByLabel('Project', { exact: true }).selectOption('proj_usage');
      const quota = page.getByRole('row').filter({ hasText: 'chat' });
      // The limits, then the current windows' use from the live counters (the minute's tokens and the 10 s window's requests move with the clock).
      await expect.poll(() => quota.textContent()).toMatch(/^chat20,000120[\d,]+ of 20,000 \(\d+%\)\d+ of 20 \(\d+%\)$/);
      await expect(page.getByRole('columnheader', { name: 'Tokens this minute' }).count()).resolves.toBe(1);
      const today = page.getByRole('meter', { name: 'Project proj_usage, today' });
      await today.waitFor();
      expect(Number(await today.getAttribute('value'))).toBeCloseTo(spentUsd / 5, 6);
      await page.getByText(/of \$5\.00/).waitFor();

      // Narrow window: the overview still renders its charts.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.getByRole('figure', { name: 'Requests per project' }).locator('.recharts-bar-rectangle').first().waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 90_000);
});
