import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beginSignIn, codeChallenge, completeSignIn, endpointsOf, type IdentityProvider } from '../../portal/src/api/single-sign-on.js';
import type { KeyValueStorage } from '../../portal/src/api/session.js';
import { startOidcProvider, type OidcProvider } from '../fixtures/oidc-provider.js';

/** The portal's PKCE sign-in against the fixture issuer, with Node's fetch and Web Crypto standing in for the browser's. */
let issuer: OidcProvider;
let provider: IdentityProvider;
const ORIGIN = 'http://portal.test';

function memoryStorage(): KeyValueStorage & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return {
    items,
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
  };
}

/** What the browser does between the halves: follows the authorization URL to the redirect back, and returns its query. */
async function authorize(url: string): Promise<URLSearchParams> {
  const response = await fetch(url, { redirect: 'manual' });
  expect(response.status).toBe(302);
  const back = new URL(response.headers.get('location') as string);
  expect(back.origin + back.pathname).toBe(`${ORIGIN}/portal/sign-in/callback`);
  return back.searchParams;
}

beforeAll(async () => {
  issuer = await startOidcProvider({ clientId: 'portal', audience: 'api://cerulean', user: { subject: 'ada', email: 'ada@acme.test', roles: ['Admin'] } });
  provider = { issuer: issuer.issuer, client_id: 'portal', scopes: 'openid email', authorization_endpoint: null, token_endpoint: null };
});

afterAll(() => issuer?.close());

describe('single sign-on (authorization code with PKCE)', () => {
  it('computes the S256 challenge as base64url(SHA-256(verifier)), without padding', async () => {
    for (const verifier of ['a'.repeat(43), 'M25iVXpKU3puUjFaYWg3T1NDTDQtcW1ROUY5YXlwalNoc0hhakxifmZHag']) {
      expect(await codeChallenge(verifier)).toBe(createHash('sha256').update(verifier).digest('base64url'));
    }
  });

  it('reads the endpoints from discovery unless configured', async () => {
    expect(await endpointsOf(provider, fetch)).toEqual({ authorization: `${issuer.issuer}/authorize`, token: `${issuer.issuer}/token` });
    const configured = { ...provider, authorization_endpoint: 'https://a.test/auth', token_endpoint: 'https://a.test/token' };
    expect(await endpointsOf(configured, () => Promise.reject(new Error('no discovery expected')))).toEqual({
      authorization: 'https://a.test/auth',
      token: 'https://a.test/token',
    });
  });

  it('signs in: the challenge leaves, the verifier stays in the tab until the exchange, and the access token comes back', async () => {
    const storage = memoryStorage();
    const url = new URL(await beginSignIn(provider, { storage, fetch, origin: ORIGIN, returnTo: '/audit' }));
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    const pending = JSON.parse(storage.items.get('cerulean.sign-in') as string) as { verifier: string; state: string };
    expect(url.searchParams.get('code_challenge')).toBe(await codeChallenge(pending.verifier));
    expect(url.toString()).not.toContain(pending.verifier);
    const { credential, returnTo } = await completeSignIn(await authorize(url.toString()), { storage, fetch });
    expect(returnTo).toBe('/audit');
    expect(JSON.parse(Buffer.from(credential.split('.')[1], 'base64url').toString())).toMatchObject({ iss: issuer.issuer, aud: 'api://cerulean', sub: 'ada' });
    expect(storage.items.size).toBe(0);
    expect(issuer.exchanges.at(-1)).toEqual({ granted: true });
  });

  it('refuses an answer with another state, and the issuer refuses a wrong verifier', async () => {
    const storage = memoryStorage();
    const query = await authorize(await beginSignIn(provider, { storage, fetch, origin: ORIGIN, returnTo: '/' }));
    const forged = new URLSearchParams(query);
    forged.set('state', 'someone-else');
    await expect(completeSignIn(forged, { storage, fetch })).rejects.toThrow('does not belong to the sign-in this tab started');
    // The pending sign-in is gone after any answer: the code cannot be replayed from this tab.
    await expect(completeSignIn(query, { storage, fetch })).rejects.toThrow('No sign-in was under way');

    const other = memoryStorage();
    const second = await authorize(await beginSignIn(provider, { storage: other, fetch, origin: ORIGIN, returnTo: '/' }));
    const pending = JSON.parse(other.items.get('cerulean.sign-in') as string) as Record<string, string>;
    other.setItem('cerulean.sign-in', JSON.stringify({ ...pending, verifier: 'x'.repeat(43) }));
    await expect(completeSignIn(second, { storage: other, fetch })).rejects.toThrow(
      'The token endpoint refused: invalid_grant: the code verifier does not match the challenge.',
    );
  });

  it("shows the issuer's refusal in its words", async () => {
    const storage = memoryStorage();
    await beginSignIn(provider, { storage, fetch, origin: ORIGIN, returnTo: '/' });
    const { state } = JSON.parse(storage.items.get('cerulean.sign-in') as string) as { state: string };
    const query = new URLSearchParams({ state, error: 'access_denied', error_description: 'The user declined' });
    await expect(completeSignIn(query, { storage, fetch })).rejects.toThrow('The issuer refused the sign-in: access_denied: The user declined.');
  });
});
