import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcProvider, type OidcProvider } from '../fixtures/oidc-provider.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { buildPortal, chromiumAvailable, inPage, launchChromium, openPage, signIn } from '../helpers/portal-browser.js';

/**
 * Single sign-on through an OIDC issuer (the fixture provider: discovery, authorization code with
 * PKCE, JWKS) in real Chromium, then the Projects page (create, rename, members) and the Audit log
 * (filters, pages, verifying the chain), for an admin and a reader by role_map, with no console error.
 */
const available = chromiumAvailable('test/portal/admin-pages-browser.test.ts');
const AUDIENCE = 'api://cerulean';

let issuer: OidcProvider;
let cerulean: GovernedCerulean;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  const portal = buildPortal();
  issuer = await startOidcProvider({
    clientId: 'cerulean-portal',
    audience: AUDIENCE,
    user: { subject: 'ada', email: 'ada@acme.test', roles: ['Cerulean.Admin'] },
  });
  cerulean = await startGovernedCerulean(`
portal: { directory: ${JSON.stringify(portal)} }
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
auth:
  oidc:
    - issuer: "${issuer.issuer}"
      audience: "${AUDIENCE}"
      jwks_uri: "${issuer.issuer}/jwks"
      organization: org_acme
      client_id: cerulean-portal
      role_map: { "Cerulean.Admin": admin, "Cerulean.Reader": reader }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/users', { organization: 'org_acme', email: 'grace@acme.test', name: 'Grace' })).status).toBe(201);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await cerulean?.close();
  await issuer?.close();
});

describe.runIf(available)('single sign-on, projects and the audit log in Chromium', () => {
  it('serves the issuers’ public facts unauthenticated, and allows the issuer in the CSP', async () => {
    const response = await fetch(`${cerulean.url}/portal/identity-providers.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain(`connect-src 'self' ${issuer.issuer}`);
    expect(await response.json()).toEqual({
      data: [{ issuer: issuer.issuer, client_id: 'cerulean-portal', scopes: 'openid profile email', authorization_endpoint: null, token_endpoint: null }],
    });
  });

  it('signs in through the issuer with PKCE, manages a project and its members, filters the audit log, and signs out', async () => {
    issuer.user = { subject: 'ada', email: 'ada@acme.test', roles: ['Cerulean.Admin'] };
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await page.goto(`${cerulean.url}/portal/projects`);
      await page.getByRole('button', { name: `Sign in with ${new URL(issuer.issuer).host}` }).click();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      // Back where the person was going, with the code gone from the address bar and history, the token in this tab only.
      expect(page.url()).toBe(`${cerulean.url}/portal/projects`);
      expect(await inPage(page, 'history.length')).toBeLessThanOrEqual(3);
      const stored = await inPage<string | null>(page, "sessionStorage.getItem('cerulean.session')");
      expect(JSON.parse(stored ?? '{}')).toMatchObject({ method: 'oidc' });
      expect(await inPage(page, "sessionStorage.getItem('cerulean.sign-in')")).toBeNull();
      expect(await inPage(page, 'localStorage.length')).toBe(0);
      expect(await context.cookies()).toEqual([]);
      expect(issuer.exchanges.at(-1)).toEqual({ granted: true });
      await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).textContent()).toMatch(/Projects.*Audit log/);
      await expect.poll(() => page.locator('header').textContent()).toContain('ada@acme.test');

      // Create, with the name checked before sending.
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByText('Give it a name.').waitFor();
      await page.getByLabel('Name', { exact: true }).fill('Research');
      await page.getByRole('button', { name: 'Create project' }).click();
      await page.getByRole('heading', { name: /^Research \(proj_/ }).waitFor();
      const projectId = /\/portal\/projects\/(proj_[\w-]+)$/.exec(page.url())?.[1] as string;
      expect(projectId).toBeTruthy();

      // Rename.
      await page.getByLabel('Name', { exact: true }).nth(1).fill('Research and development');
      await page.getByRole('button', { name: 'Rename project' }).click();
      await page.getByRole('heading', { name: `Research and development (${projectId})` }).waitFor();
      expect((await cerulean.admin('GET', `/projects/${projectId}`)).body.name).toBe('Research and development');

      // Members: the signed-in admin holds admin on the organization (from role_map through the token, not stored);
      // give Grace contributor on the project, then take it away.
      const members = page.getByRole('table', { name: 'Members of Research and development' });
      await page.getByLabel('User').selectOption({ label: 'Grace <grace@acme.test>' });
      await page.getByLabel('Role', { exact: true }).selectOption('contributor');
      await page.getByRole('button', { name: 'Give role' }).click();
      await expect.poll(() => members.textContent()).toMatch(/grace@acme\.test.*contributor.*this project/);
      await page.getByRole('button', { name: 'Remove grace@acme.test' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Remove member' }).click();
      await page.getByText('Nobody holds a role on this project or its organization yet.').waitFor();

      // The audit log, filtered by target: the creation, the rename and the role given and taken, by this user.
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByLabel('Target').fill(`project:${projectId}`);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const entries = page.getByRole('table', { name: 'Audit entries' });
      await expect
        .poll(async () => (await entries.locator('tbody tr').allTextContents()).map((row) => /projects\.(create|update)/.exec(row)?.[0]))
        .toEqual(['projects.create', 'projects.update']);
      expect(await entries.textContent()).toMatch(/user:user_/);
      await page.getByLabel('Action').fill('roles.assign');
      await page.getByLabel('Target').fill('');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => entries.locator('tbody tr').count()).toBe(1);
      // A time range that is backwards is refused before it is sent.
      await page.getByLabel('From', { exact: true }).fill('2030-01-02T00:00');
      await page.getByLabel('To', { exact: true }).fill('2030-01-01T00:00');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByText('"From" must be before "to".').waitFor();
      // Verifying the chain is the operator's: not offered to an organization admin.
      expect(await page.getByRole('button', { name: 'Verify chain' }).count()).toBe(0);

      await page.getByRole('button', { name: 'Sign out' }).first().click();
      await page.getByRole('heading', { name: 'Sign in to Cerulean' }).waitFor();
      expect(await inPage(page, 'sessionStorage.length')).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('gives a reader (by role_map) the pages without the controls; the API refuses the reader anyway', async () => {
    issuer.user = { subject: 'linus', email: 'linus@acme.test', roles: ['Cerulean.Reader'] };
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await page.goto(`${cerulean.url}/portal/`);
      await page.getByRole('button', { name: /^Sign in with / }).click();
      await expect.poll(() => page.getByRole('navigation', { name: 'Pages' }).textContent()).toMatch(/Projects.*Audit log/);
      await page.getByRole('link', { name: 'Projects' }).click();
      await page.getByRole('table', { name: 'Projects' }).waitFor();
      expect(await page.getByRole('button', { name: 'Create project' }).count()).toBe(0);
      await page.getByRole('link', { name: 'Research and development' }).click();
      await page.getByRole('link', { name: 'Keys of this project' }).waitFor();
      expect(await page.getByRole('button', { name: 'Rename project' }).count()).toBe(0);
      expect(await page.getByRole('heading', { name: 'Members' }).count()).toBe(0);
      const token = JSON.parse((await inPage<string>(page, "sessionStorage.getItem('cerulean.session')")) ?? '{}').credential as string;
      const refused = await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Sneaky' }, token);
      expect(refused.status).toBe(403);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('ends a single sign-on session when its token expires, and says so on the sign-in page', async () => {
    issuer.user = { subject: 'ada', email: 'ada@acme.test', roles: ['Cerulean.Admin'] };
    issuer.tokenLifetimeSeconds = 4;
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await page.goto(`${cerulean.url}/portal/projects`);
      await page.getByRole('button', { name: /^Sign in with / }).click();
      await page.getByRole('heading', { name: 'Projects' }).waitFor();
      const stored = JSON.parse((await inPage<string>(page, "sessionStorage.getItem('cerulean.session')")) ?? '{}') as { expiresAt?: number };
      expect(stored.expiresAt).toEqual(expect.any(Number));
      // Nobody clicks: at the token's expiry the portal forgets it and shows why.
      await page.getByText('Your single sign-on session expired. Sign in again.').waitFor({ timeout: 10_000 });
      expect(await inPage(page, 'sessionStorage.length')).toBe(0);
      expect(page.url()).toContain('/portal/sign-in');
      expect(errors).toEqual([]);
    } finally {
      issuer.tokenLifetimeSeconds = 600;
      await context.close();
    }
  });

  it('verifies the audit chain for the operator and shows the result', async () => {
    const { page, context, errors } = await openPage(browser, cerulean.url);
    try {
      await signIn(page, cerulean.url, MASTER_KEY);
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('table', { name: 'Audit entries' }).waitFor();
      await page.getByRole('button', { name: 'Verify chain' }).click();
      await page.getByText(/^The chain is intact: \d+ entries checked, up to \d+:[0-9a-f]{64}\.$/).waitFor();
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
