import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProvider } from '../fixtures/oidc-provider.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { buildPortal, chromiumAvailable, launchChromium, openPage, signIn } from '../helpers/portal-browser.js';

/**
 * The Limited access and Content safety pages in Chromium: a project owner (signed in through the
 * fixture issuer, with the role stored on the project) applies for a gated deployment, the operator
 * approves it and the project's key can call it; a reader sees neither page's controls.
 */
const available = chromiumAvailable('test/portal/governance-pages-browser.test.ts');
const AUDIENCE = 'api://cerulean';
const PROJECT = 'proj_lab';

let upstream: OpenAIFixture;
let issuer: OidcProvider;
let cerulean: GovernedCerulean;
let browser: Browser;
let projectKey: string;

async function storedUser(subject: string, role: 'owner' | 'reader'): Promise<void> {
  const user = await cerulean.admin('POST', '/users', { organization: 'org_acme', email: `${subject}@acme.test`, issuer: issuer.issuer, subject });
  expect(user.status).toBe(201);
  expect((await cerulean.admin('PUT', `/users/${user.body.id}/roles`, { scope: 'project', scope_id: PROJECT, role })).status).toBe(200);
}

/** Signs in through the fixture issuer as `subject`, landing on `path`. */
async function signInAs(page: Page, subject: string, path: string): Promise<void> {
  issuer.user = { subject, email: `${subject}@acme.test`, roles: [] };
  await page.goto(`${cerulean.url}/portal${path}`);
  await page.getByRole('button', { name: `Sign in with ${new URL(issuer.issuer).host}` }).click();
  await page.locator('header').getByText(`${subject}@acme.test`).waitFor();
}

async function chat(deployment: string, content = 'hello'): Promise<number> {
  const client = new OpenAI({ apiKey: projectKey, baseURL: `${cerulean.url}/v1`, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: deployment, messages: [{ role: 'user', content }], max_tokens: 16 });
    return 200;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

beforeAll(async () => {
  if (!available) return;
  const portal = buildPortal();
  upstream = await startOpenAIFixture();
  issuer = await startOidcProvider({ clientId: 'cerulean-portal', audience: AUDIENCE, user: { subject: 'olivia', email: 'olivia@acme.test', roles: [] } });
  cerulean = await startGovernedCerulean(`
portal: { directory: ${JSON.stringify(portal)} }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  gpt-secure: { provider: up, model: gpt-4o }
auth:
  oidc:
    - issuer: "${issuer.issuer}"
      audience: "${AUDIENCE}"
      jwks_uri: "${issuer.issuer}/jwks"
      organization: org_acme
      client_id: cerulean-portal
content_safety:
  policies:
    strict: { prompt: { hate: low, sexual: low, violence: low, self_harm: low } }
  deployments: { gpt-secure: strict }
  abuse_monitoring: { flag_threshold: 1, block_threshold: 100, actions: [notify] }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Lab', id: PROJECT })).status).toBe(201);
  expect((await cerulean.admin('PATCH', '/deployments/gpt-secure', { gated: true })).status).toBe(200);
  await storedUser('olivia', 'owner');
  await storedUser('rita', 'reader');
  const key = await cerulean.admin('POST', `/projects/${PROJECT}/keys`, { name: 'lab' });
  expect(key.status).toBe(201);
  projectKey = key.body.key;
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await cerulean?.close();
  await issuer?.close();
  await upstream?.close();
});

describe.runIf(available)('limited access in Chromium', () => {
  it('lets a project owner apply, the operator approve with a note, and the project then call the deployment', async () => {
    expect(await chat('gpt-secure')).toBe(403);
    const owner = await openPage(browser, cerulean.url);
    const operator = await openPage(browser, cerulean.url);
    try {
      const { page } = owner;
      await signInAs(page, 'olivia', '/access');
      await page.getByRole('heading', { name: 'Limited access' }).waitFor();
      // Not the operator: no review queue.
      expect(await page.getByRole('heading', { name: 'Review queue' }).count()).toBe(0);
      await page.getByLabel('Project').selectOption(PROJECT);
      await page.getByRole('form', { name: 'Apply for access' }).waitFor();
      await page.getByText('This project has not applied for any gated deployment yet.').waitFor();
      // Only the gated deployment is offered.
      expect(await page.getByLabel('Gated deployment').locator('option').allTextContents()).toEqual(['Choose a deployment…', 'gpt-secure']);
      await page.getByLabel('Gated deployment').selectOption('gpt-secure');
      // Checked before sending.
      await page.getByLabel('Use case').fill('chat bot');
      await page.getByRole('button', { name: 'Apply for access' }).click();
      await page.getByText('Describe the use case in at least 20 characters (8 so far).').waitFor();
      await page.getByLabel('Use case').fill('Summarising lab notebooks for the research team.');
      await page.getByRole('button', { name: 'Apply for access' }).click();
      await page.getByText('Applied for gpt-secure: the request is pending.').waitFor();
      const mine = page.getByRole('table', { name: 'Access requests of Lab' });
      await expect.poll(() => mine.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^gpt-secure.*lab notebooks.*pending.*not yet$/)]);
      // An open request is not offered again.
      expect(await page.getByLabel('Gated deployment').locator('option', { hasText: 'gpt-secure (pending)' }).isDisabled()).toBe(true);

      await signIn(operator.page, cerulean.url, MASTER_KEY);
      await operator.page.getByRole('link', { name: 'Limited access' }).click();
      const queue = operator.page.getByRole('table', { name: 'Access requests to review' });
      await expect.poll(() => queue.locator('tbody tr').count()).toBe(1);
      expect(await queue.textContent()).toMatch(/proj_lab.*gpt-secure.*lab notebooks.*pending/);
      await operator.page.getByRole('button', { name: `Approve ${PROJECT} on gpt-secure` }).click();
      const dialog = operator.page.getByRole('dialog', { name: 'Approve this request?' });
      await dialog.getByLabel('Note (optional, recorded with the decision)').fill('fine for research');
      await dialog.getByRole('button', { name: 'Approve access' }).click();
      await operator.page.getByText('No request is waiting for a decision.').waitFor();
      await operator.page.getByLabel('Status').selectOption('approved');
      await expect.poll(() => queue.textContent()).toMatch(/proj_lab.*gpt-secure.*approved.*by master.*fine for research/);
      expect(await operator.page.getByRole('button', { name: /^Approve / }).count()).toBe(0);

      await page.reload();
      await expect.poll(() => mine.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/approved.* by master“fine for research”$/)]);
      expect(await chat('gpt-secure')).toBe(200);
      expect(owner.errors).toEqual([]);
      expect(operator.errors).toEqual([]);
    } finally {
      await owner.context.close();
      await operator.context.close();
    }
  });

  it('shows a reader neither the page in the navigation nor its controls', async () => {
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await signInAs(page, 'rita', `/access/${PROJECT}`);
      await page.getByText('Your roles on Lab do not include applying for limited access (owner, admin or contributor do).').waitFor();
      expect(await page.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents()).not.toContain('Limited access');
      expect(await page.getByRole('button', { name: 'Apply for access' }).count()).toBe(0);
      expect(await page.getByRole('heading', { name: 'Review queue' }).count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
