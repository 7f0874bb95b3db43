import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Tenants cannot see or change each other's keys, usage, quotas or audit entries; roles limit what
 * a user may do; OIDC tokens are validated (signature, issuer, audience, expiry) and mapped to users.
 */
const ISSUER = 'https://login.example.test/tenant/v2.0';
const AUDIENCE = 'api://cerulean';

let upstream: OpenAIFixture;
let jwks: Server;
let privateKey: CryptoKey;
let otherKey: CryptoKey;
let cerulean: GovernedCerulean;

async function token(
  subject: string,
  claims: Record<string, unknown> = {},
  options: { key?: CryptoKey; audience?: string; expires?: string } = {},
): Promise<string> {
  return new SignJWT({ email: `${subject}@acme.test`, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(options.audience ?? AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(options.expires ?? '10m')
    .sign(options.key ?? privateKey);
}

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`;
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
auth:
  oidc:
    - issuer: "${ISSUER}"
      audience: "${AUDIENCE}"
      jwks_uri: "${jwksUrl}"
      organization: org_a
      role_map: { "Cerulean.Reader": reader }
`);
  for (const org of ['org_a', 'org_b']) {
    expect((await cerulean.admin('POST', '/organizations', { name: org, id: org })).status).toBe(201);
    expect((await cerulean.admin('POST', '/projects', { organization: org, name: 'main', id: `${org}_main` })).status).toBe(201);
  }
  await cerulean.admin('POST', '/projects', { organization: 'org_a', name: 'side', id: 'org_a_side' });
  const alice = await cerulean.admin('POST', '/users', { organization: 'org_a', email: 'alice@acme.test', issuer: ISSUER, subject: 'alice' });
  expect(alice.status).toBe(201);
  expect((await cerulean.admin('PUT', `/users/${alice.body.id}/roles`, { scope: 'project', scope_id: 'org_a_main', role: 'admin' })).status).toBe(200);
  const bob = await cerulean.admin('POST', '/users', { organization: 'org_a', email: 'bob@acme.test', issuer: ISSUER, subject: 'bob' });
  expect((await cerulean.admin('PUT', `/users/${bob.body.id}/roles`, { scope: 'project', scope_id: 'org_a_main', role: 'user' })).status).toBe(200);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe('OIDC tokens', () => {
  it('maps a valid token to its user and roles; a project admin manages its keys', async () => {
    const alice = await token('alice');
    const created = await cerulean.admin('POST', '/projects/org_a_main/keys', { name: 'alice-key' }, alice);
    expect(created.status).toBe(201);
    const listed = await cerulean.admin('GET', '/projects/org_a_main/keys', undefined, alice);
    expect(listed.body.data.map((k: { id: string }) => k.id)).toContain(created.body.id);
    const audit = await cerulean.admin('GET', '/audit?project=org_a_main&action=keys.create', undefined, alice);
    expect(audit.body.data.at(-1)).toMatchObject({ actor: expect.stringMatching(/^user:user_/), target: `key:${created.body.id}` });
  });

  it('lets a token user call deployments for a project they hold a role on, named in x-cerulean-project', async () => {
    const bob = await token('bob');
    const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: bob, maxRetries: 0, defaultHeaders: { 'x-cerulean-project': 'org_a_main' } });
    await expect(client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).resolves.toBeTruthy();
    const elsewhere = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: bob, maxRetries: 0, defaultHeaders: { 'x-cerulean-project': 'org_a_side' } });
    await expect(elsewhere.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 403 });
    const unnamed = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: bob, maxRetries: 0 });
    await expect(unnamed.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 400,
      code: 'project_required',
    });
    // A user role allows inference, not key management.
    expect((await cerulean.admin('POST', '/projects/org_a_main/keys', {}, bob)).status).toBe(403);
  });

  it('rejects expired tokens, wrong audiences, unknown issuers and forged signatures', async () => {
    for (const bad of [
      await token('alice', {}, { expires: '-1m' }),
      await token('alice', {}, { audience: 'api://someone-else' }),
      await token('alice', {}, { key: otherKey }),
      await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer('https://evil.test')
        .setAudience(AUDIENCE)
        .setSubject('x')
        .setExpirationTime('5m')
        .sign(privateKey),
    ]) {
      const response = await cerulean.admin('GET', '/projects', undefined, bad);
      expect(response.status).toBe(401);
    }
  });

  it('maps app roles in the token through role_map and provisions unknown users', async () => {
    const carol = await token('carol', { roles: ['Cerulean.Reader'] });
    const usage = await cerulean.admin('GET', '/usage', undefined, carol);
    expect(usage.status).toBe(200);
    expect((await cerulean.admin('POST', '/projects/org_a_main/keys', {}, carol)).status).toBe(403);
    const users = await cerulean.admin('GET', '/users?organization=org_a');
    expect(users.body.data.map((u: { email: string }) => u.email)).toContain('carol@acme.test');
  });
});

describe('tenant isolation', () => {
  it("never shows or changes another organization's keys, usage, quotas or audit", async () => {
    const alice = await token('alice');
    const bKey = await cerulean.admin('POST', '/projects/org_b_main/keys', {});
    expect(bKey.status).toBe(201);
    const bClient = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: bKey.body.key, maxRetries: 0 });
    await bClient.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'b' }] });
    await cerulean.governance.ledger.flush();

    expect((await cerulean.admin('GET', '/projects/org_b_main/keys', undefined, alice)).status).toBe(404);
    expect((await cerulean.admin('POST', `/keys/${bKey.body.id}/revoke`, undefined, alice)).status).toBe(404);
    expect((await cerulean.admin('POST', '/projects/org_b_main/keys', {}, alice)).status).toBe(404);
    expect((await cerulean.admin('GET', '/projects/org_b_main/quotas', undefined, alice)).status).toBe(404);
    expect((await cerulean.admin('PUT', '/projects/org_b_main/quotas/chat', { tpm: 1 }, alice)).status).toBe(404);
    expect((await cerulean.admin('GET', '/usage?project=org_b_main', undefined, alice)).status).toBe(404);
    expect((await cerulean.admin('GET', '/audit?project=org_b_main', undefined, alice)).status).toBe(404);
    expect((await cerulean.admin('GET', '/usage?organization=org_b', undefined, alice)).status).toBe(400);
    expect((await cerulean.admin('GET', '/budgets/key/' + bKey.body.id, undefined, alice)).status).toBe(404);

    const projects = await cerulean.admin('GET', '/projects', undefined, alice);
    expect(projects.body.data.map((p: { id: string }) => p.id)).toEqual(['org_a_main']);
    const carol = await token('carol', { roles: ['Cerulean.Reader'] });
    const orgUsage = await cerulean.admin('GET', '/usage?group_by=project', undefined, carol);
    expect(orgUsage.body.data.map((row: { project: string }) => row.project)).not.toContain('org_b_main');
    const orgAudit = await cerulean.admin('GET', '/audit?limit=1000', undefined, carol);
    expect(orgAudit.body.data.length).toBeGreaterThan(0);
    expect(orgAudit.body.data.every((entry: { organization: string | null }) => entry.organization === 'org_a')).toBe(true);

    // B's key still works: nothing A tried changed it.
    await expect(bClient.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'b' }] })).resolves.toBeTruthy();
  });

  it('keeps service-wide settings to the operator', async () => {
    const alice = await token('alice');
    expect((await cerulean.admin('PATCH', '/deployments/chat', { gated: true }, alice)).status).toBe(403);
    expect((await cerulean.admin('POST', '/organizations', { name: 'x' }, alice)).status).toBe(403);
    expect((await cerulean.admin('GET', '/audit/verify', undefined, alice)).status).toBe(403);
  });

  it('gives inference keys and inference-only users no admin reads; a reading role keeps them', async () => {
    const key = await cerulean.admin('POST', '/projects/org_a_main/keys', {});
    expect(key.status).toBe(201);
    const bob = await token('bob');
    for (const credential of [key.body.key, bob]) {
      for (const path of ['/deployments', '/organizations', '/projects', '/projects/org_a_main', '/usage', '/audit', '/access-requests', '/abuse/reviews']) {
        const response = await cerulean.admin('GET', path, undefined, credential);
        expect({ path, status: response.status }).toEqual({ path, status: 403 });
        expect(response.body.error.type).toBe('permission_error');
      }
    }
    const alice = await token('alice');
    const carol = await token('carol', { roles: ['Cerulean.Reader'] });
    for (const credential of [alice, carol]) {
      const deployments = await cerulean.admin('GET', '/deployments', undefined, credential);
      expect(deployments.status).toBe(200);
      expect(deployments.body.data.map((d: { deployment: string }) => d.deployment)).toEqual(['chat']);
      expect((await cerulean.admin('GET', '/organizations', undefined, credential)).body.data.map((o: { id: string }) => o.id)).toEqual(['org_a']);
      expect((await cerulean.admin('GET', '/projects/org_a_main', undefined, credential)).status).toBe(200);
    }
    // Alice's role is on one project: she sees that project only, the reader of the organization sees all of it.
    expect((await cerulean.admin('GET', '/projects', undefined, alice)).body.data.map((p: { id: string }) => p.id)).toEqual(['org_a_main']);
    expect((await cerulean.admin('GET', '/projects', undefined, carol)).body.data.map((p: { id: string }) => p.id).sort()).toEqual([
      'org_a_main',
      'org_a_side',
    ]);
  });

  it('lets nobody grant more than they hold', async () => {
    const alice = await token('alice');
    const dave = await cerulean.admin('POST', '/users', { organization: 'org_a', email: 'dave@acme.test' });
    // Alice administers one project, not the organization: she manages no users.
    expect((await cerulean.admin('PUT', `/users/${dave.body.id}/roles`, { scope: 'organization', scope_id: 'org_a', role: 'owner' }, alice)).status).toBe(403);
  });
});
