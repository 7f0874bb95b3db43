import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProvider } from '../fixtures/oidc-provider.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { buildPortal, chromiumAvailable, inPage, launchChromium, openPage, signIn } from '../helpers/portal-browser.js';

/**
 * The Limited access and Content safety pages in Chromium: a project owner (signed in through the
 * fixture issuer, with the role stored on the project) applies for a gated deployment, the operator
 * approves it and the project's key can call it; the owner sets and removes a content-filter policy,
 * keeps a blocklist whose term then blocks a prompt, which opens an abuse review the operator
 * dismisses; a reader sees neither page's controls.
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
      // Described by its help until it has a problem, then by the problem (announced); it has the focus.
      const useCase = page.getByLabel('Use case');
      expect(await useCase.getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator(`#${await useCase.getAttribute('aria-describedby')}`).getAttribute('role')).toBe('alert');
      expect(await inPage<string>(page, 'document.activeElement.id')).toBe('apply-use-case');
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

describe.runIf(available)('content safety in Chromium', () => {
  it('lets a project owner choose a policy and remove it again, and keep a blocklist with its terms', async () => {
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await signInAs(page, 'olivia', '/safety');
      await page.waitForURL(`${cerulean.url}/portal/safety/policies`);
      expect(await page.getByRole('navigation', { name: 'Content safety sections' }).getByRole('link').allTextContents()).toEqual([
        'Filter policies',
        'Blocklists',
        'Abuse reviews',
      ]);
      const configured = page.getByRole('table', { name: 'Content-filter policy per deployment' });
      await expect.poll(() => configured.locator('tbody tr').allTextContents()).toEqual(['chatdefault (Azure defaults unless configured)', 'gpt-securestrict']);

      await page.getByLabel('Project').selectOption(PROJECT);
      await page.getByText('This project uses the configured policy on every deployment.').waitFor();
      // Turning filtering off is the operator's: not offered to an owner.
      expect(await page.getByLabel('Policy', { exact: true }).locator('option').allTextContents()).toEqual([
        'Choose a policy…',
        'strict',
        'default (Azure defaults unless configured)',
      ]);
      await page.getByRole('button', { name: 'Use this policy' }).click();
      await page.getByText('Choose the deployment.').waitFor();
      await page.getByLabel('Deployment', { exact: true }).selectOption('chat');
      await page.getByLabel('Policy', { exact: true }).selectOption('strict');
      await page.getByRole('button', { name: 'Use this policy' }).click();
      const choices = page.getByRole('table', { name: 'Content-filter choices of Lab' });
      await expect.poll(() => choices.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^chatstrict/)]);
      expect((await cerulean.admin('GET', `/projects/${PROJECT}/content-filters`)).body.data).toMatchObject([{ deployment: 'chat', policy: 'strict' }]);
      await page.getByRole('button', { name: 'Remove the choice for chat' }).click();
      await page.getByRole('dialog', { name: 'Remove this choice?' }).getByRole('button', { name: 'Remove choice' }).click();
      await page.getByText('This project uses the configured policy on every deployment.').waitFor();
      expect((await cerulean.admin('GET', `/projects/${PROJECT}/content-filters`)).body.data).toEqual([]);

      await page.getByRole('link', { name: 'Blocklists' }).click();
      await page.waitForURL(`${cerulean.url}/portal/safety/blocklists/${PROJECT}`);
      await page.getByText('This project has no blocklist yet: create one above.').waitFor();
      await page.getByRole('button', { name: 'Create blocklist' }).click();
      await page.getByText('Give the blocklist a name.').waitFor();
      await page.getByLabel('Name', { exact: true }).fill('Codenames');
      await page.getByRole('button', { name: 'Create blocklist' }).click();
      const codenames = page.getByRole('region', { name: 'Blocklist Codenames' });
      await codenames.getByText('No term yet: add one below.').waitFor();
      // Checked before sending: a pattern matching the empty string would block everything.
      await codenames.getByLabel('Kind').selectOption('regex');
      await codenames.getByLabel('Term', { exact: true }).fill('x*');
      await codenames.getByRole('button', { name: 'Add term' }).click();
      await page.getByText('The pattern matches the empty string: it would block everything.').waitFor();
      await codenames.getByLabel('Term', { exact: true }).fill('falcon-\\d{3}');
      await codenames.getByRole('button', { name: 'Add term' }).click();
      await codenames.getByLabel('Kind').selectOption('exact');
      await codenames.getByLabel('Term', { exact: true }).fill('  Project   Falcon ');
      await codenames.getByRole('button', { name: 'Add term' }).click();
      const terms = codenames.getByRole('table', { name: 'Terms of Codenames' });
      await expect.poll(() => terms.locator('tbody tr').count()).toBe(2);
      expect(await terms.locator('tbody tr').allTextContents()).toEqual([
        expect.stringMatching(/^regexfalcon-\\d\{3\}/),
        expect.stringMatching(/^exactProject Falcon/),
      ]);
      await codenames.getByRole('button', { name: 'Remove the term falcon-\\d{3}' }).click();
      await expect.poll(() => terms.locator('tbody tr').count()).toBe(1);
      // The API's refusal, as it worded it.
      await codenames.getByLabel('Term', { exact: true }).fill('project falcon');
      await codenames.getByRole('button', { name: 'Add term' }).click();
      await codenames.getByText(/already has the exact term "Project Falcon"/).waitFor();

      // A second list, deleted after a confirmation.
      await page.getByLabel('Name', { exact: true }).fill('Scratch');
      await page.getByRole('button', { name: 'Create blocklist' }).click();
      const scratch = page.getByRole('region', { name: 'Blocklist Scratch' });
      await scratch.getByRole('button', { name: 'Delete blocklist' }).click();
      await page.getByRole('dialog', { name: 'Delete this blocklist?' }).getByRole('button', { name: 'Delete blocklist' }).click();
      await expect.poll(() => scratch.count()).toBe(0);
      expect((await cerulean.admin('GET', `/projects/${PROJECT}/blocklists`)).body.data.map((list: { name: string }) => list.name)).toEqual(['Codenames']);
      // Chromium logs the refused duplicate (409), the one error expected.
      expect(errors.filter((error) => !/status of 409 .*\/admin\/v1\/blocklists\/bl_[\w-]+\/terms\)$/.test(error))).toEqual([]);
      expect(errors).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it('opens an abuse review when the blocklist blocks a prompt; the owner reads its sample as text, the operator dismisses it', async () => {
    const prompt = 'Tell me about <b>Project Falcon</b> & its launch';
    await expect.poll(() => chat('chat', prompt), { timeout: 5_000 }).toBe(400);
    // One review for the key and one for the whole project (each a subject of abuse monitoring).
    await expect
      .poll(async () =>
        (await cerulean.admin('GET', '/abuse/reviews?status=open')).body.data.map((review: { subjectType: string }) => review.subjectType).sort(),
      )
      .toEqual(['key', 'project']);
    const owner = await openPage(browser, cerulean.url);
    const operator = await openPage(browser, cerulean.url);
    try {
      await signInAs(owner.page, 'olivia', `/safety/reviews/${PROJECT}`);
      const ownerQueue = owner.page.getByRole('table', { name: 'Abuse reviews' });
      await expect.poll(() => ownerQueue.locator('tbody tr').count()).toBe(2);
      await owner.page.getByLabel('Subject').selectOption('key');
      await expect.poll(() => ownerQueue.locator('tbody tr').count()).toBe(1);
      await owner.page.getByRole('button', { name: /^Open the review of key / }).click();
      const sample = owner.page.getByRole('list', { name: 'Samples' }).locator('pre');
      await expect.poll(() => sample.textContent()).toContain(prompt);
      expect(await sample.locator('b').count()).toBe(0);
      expect(await owner.page.getByRole('button', { name: 'Dismiss' }).count()).toBe(0);

      await signIn(operator.page, cerulean.url, MASTER_KEY);
      await operator.page.getByRole('link', { name: 'Content safety' }).click();
      await operator.page.getByRole('link', { name: 'Abuse reviews' }).click();
      const queue = operator.page.getByRole('table', { name: 'Abuse reviews' });
      await operator.page.getByLabel('Subject').selectOption('key');
      await expect.poll(() => queue.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^key key_.*proj_lab.*open/)]);
      await operator.page.getByRole('button', { name: /^Open the review of key / }).click();
      await operator.page.getByRole('list', { name: 'Samples' }).getByText(prompt).waitFor();
      await operator.page.getByRole('button', { name: 'Dismiss', exact: true }).click();
      const dialog = operator.page.getByRole('dialog', { name: 'Dismiss this review?' });
      await dialog.getByLabel('Reason (optional, recorded with the decision)').fill('a test of the blocklist');
      await dialog.getByRole('button', { name: 'Dismiss review' }).click();
      await operator.page.getByText('No review is open.').waitFor();
      await operator.page.getByLabel('Status').selectOption('dismissed');
      await expect.poll(() => queue.textContent()).toMatch(/proj_lab.*dismissed/);
      // The project's own review is still open.
      expect((await cerulean.admin('GET', '/abuse/reviews?status=open')).body.data.map((review: { subjectType: string }) => review.subjectType)).toEqual([
        'project',
      ]);
      const [review] = (await cerulean.admin('GET', '/abuse/reviews?status=dismissed')).body.data;
      expect(review).toMatchObject({ status: 'dismissed', decidedBy: 'master', reason: expect.stringContaining('a test of the blocklist') });
      expect(owner.errors).toEqual([]);
      expect(operator.errors).toEqual([]);
    } finally {
      await owner.context.close();
      await operator.context.close();
    }
  });

  it('shows a reader the policies and blocklists without their controls, and not the abuse reviews', async () => {
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await signInAs(page, 'rita', `/safety/blocklists/${PROJECT}`);
      await page.getByRole('region', { name: 'Blocklist Codenames' }).getByRole('table', { name: 'Terms of Codenames' }).waitFor();
      expect(await page.getByRole('navigation', { name: 'Content safety sections' }).getByRole('link').allTextContents()).toEqual([
        'Filter policies',
        'Blocklists',
      ]);
      expect(await page.getByRole('button', { name: 'Create blocklist' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Add term' }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /^Remove|^Delete/ }).count()).toBe(0);
      await page.getByRole('link', { name: 'Filter policies' }).click();
      await page.getByText('This project uses the configured policy on every deployment.').waitFor();
      expect(await page.getByRole('button', { name: 'Use this policy' }).count()).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
