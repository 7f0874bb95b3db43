import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/** `GET /admin/v1/me`: who the credential is and what it may do, for the master key, an API key and an OIDC user. */
const ISSUER = 'https://login.example.test/identity';
const AUDIENCE = 'api://cerulean';

let jwks: Server;
let privateKey: CryptoKey;
let cerulean: GovernedCerulean;

function token(subject: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ email: `${subject}@acme.test`, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(privateKey);
}

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  privateKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
auth:
  oidc:
    - issuer: "${ISSUER}"
      audience: "${AUDIENCE}"
      jwks_uri: "http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys"
      organization: org_a
      role_map: { "Cerulean.Reader": reader }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'A', id: 'org_a' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_a', name: 'main', id: 'proj_main' })).status).toBe(201);
});

afterAll(async () => {
  await cerulean?.close();
  await new Promise((resolve) => jwks?.close(resolve));
});

describe('GET /admin/v1/me', () => {
  it('names the master key as the operator', async () => {
    const me = await cerulean.admin('GET', '/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'master', id: 'master', operator: true, grants: [] });
  });

  it('names an API key, its project and its deployments, with inference as its only permission', async () => {
    const created = await cerulean.admin('POST', '/projects/proj_main/keys', { name: 'ci', deployments: ['chat'] });
    expect(created.status).toBe(201);
    const me = await cerulean.admin('GET', '/me', undefined, created.body.key);
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      kind: 'key',
      id: created.body.id,
      name: 'ci',
      email: null,
      organization: 'org_a',
      project: 'proj_main',
      prefix: created.body.prefix,
      deployments: ['chat'],
      operator: false,
      grants: [{ scope: 'project', scope_id: 'proj_main', role: null, permissions: ['inference'] }],
    });
  });

  it("shows an OIDC user's roles with the permissions each grants (a reader may read keys, not manage them)", async () => {
    const me = await cerulean.admin('GET', '/me', undefined, await token('carol', { roles: ['Cerulean.Reader'] }));
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ kind: 'user', email: 'carol@acme.test', organization: 'org_a', operator: false });
    expect(me.body.grants).toHaveLength(1);
    expect(me.body.grants[0]).toMatchObject({ scope: 'organization', scope_id: 'org_a', role: 'reader' });
    expect(me.body.grants[0].permissions).toContain('keys:read');
    expect(me.body.grants[0].permissions).not.toContain('keys:manage');
  });

  it('refuses a missing or unknown credential with 401', async () => {
    expect((await cerulean.admin('GET', '/me', undefined, 'cer-not-a-key')).status).toBe(401);
    const anonymous = await fetch(`${cerulean.url}/admin/v1/me`);
    expect(anonymous.status).toBe(401);
  });

  it('is in the OpenAPI document', async () => {
    const document = await cerulean.admin('GET', '/openapi.json');
    expect(document.body.paths['/admin/v1/me'].get.operationId).toBe('me.show');
  });
});
