import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiError, errorOf } from '../../portal/src/api/api-client.js';
import { SessionStore, type KeyValueStorage } from '../../portal/src/api/session.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/** The portal's API client against a running Cerulean: the credential from the session, the API's own error wording, 401 ends the session. */
function memoryStorage(): KeyValueStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
    clear: () => items.clear(),
  };
}

let cerulean: GovernedCerulean;
let apiKey: string;

beforeAll(async () => {
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`);
  await cerulean.admin('POST', '/organizations', { name: 'A', id: 'org_a' });
  await cerulean.admin('POST', '/projects', { organization: 'org_a', name: 'main', id: 'proj_main' });
  apiKey = (await cerulean.admin('POST', '/projects/proj_main/keys', {})).body.key;
});

afterAll(async () => {
  await cerulean?.close();
});

function clientFor(credential: string | null) {
  const session = new SessionStore(memoryStorage());
  if (credential) session.signIn({ credential, method: 'key' });
  let unauthorized = 0;
  const client = new ApiClient({ session, baseUrl: cerulean.url, onUnauthorized: () => (unauthorized += 1) });
  return { client, session, unauthorized: () => unauthorized };
}

describe('ApiClient', () => {
  it("calls the admin API with the session's credential", async () => {
    const { client } = clientFor(MASTER_KEY);
    await expect(client.admin('GET', '/me')).resolves.toMatchObject({ kind: 'master' });
    const created = await client.admin<{ key: string }>('POST', '/projects/proj_main/keys', { name: 'from the client', expires: '30d' });
    expect(created.key).toMatch(/^cer-/);
  });

  it('rejects with the error exactly as the API worded it', async () => {
    const { client, unauthorized } = clientFor(apiKey);
    const refused = await client.admin('GET', '/projects').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ApiError);
    const direct = await cerulean.admin('GET', '/projects', undefined, apiKey);
    expect(direct.status).toBe(403);
    expect(refused).toMatchObject({ status: 403, message: direct.body.error.message, code: direct.body.error.code });
    const invalid = await clientFor(MASTER_KEY)
      .client.admin('POST', '/projects/proj_main/keys', { expires: 'soon' })
      .catch((error: unknown) => error);
    expect(invalid).toMatchObject({ status: 400, param: 'expires', message: expect.stringContaining('"soon"') });
    expect(unauthorized()).toBe(0);
  });

  it('ends the session on a 401 to a call made with it, not on a credential being tried', async () => {
    const { client, unauthorized } = clientFor('cer-no-such-key');
    await expect(client.admin('GET', '/me')).rejects.toMatchObject({ status: 401 });
    expect(unauthorized()).toBe(1);
    const signingIn = clientFor(null);
    await expect(signingIn.client.admin('GET', '/me', undefined, 'cer-wrong')).rejects.toMatchObject({ status: 401 });
    expect(signingIn.unauthorized()).toBe(0);
  });

  it('sends no expired single sign-on token: the session ends at once, saying it expired', async () => {
    const session = new SessionStore(memoryStorage());
    session.signIn({ credential: apiKey, method: 'oidc', expiresAt: Date.now() - 1 });
    let unauthorized = 0;
    let fetched = 0;
    const client = new ApiClient({
      session,
      baseUrl: cerulean.url,
      onUnauthorized: () => (unauthorized += 1),
      fetch: (input, init) => ((fetched += 1), globalThis.fetch(input, init)),
    });
    const error = await client.admin('GET', '/me').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'session_expired', message: 'Your single sign-on session expired: sign in again.' });
    expect([unauthorized, fetched]).toEqual([1, 0]);
    // Not yet expired: sent as usual.
    session.signIn({ credential: apiKey, method: 'oidc', expiresAt: Date.now() + 60_000 });
    await expect(client.admin('GET', '/me')).resolves.toMatchObject({ kind: 'key' });
    expect([unauthorized, fetched]).toEqual([1, 1]);
  });

  it('refuses to call without a session, and says so', async () => {
    const { client, unauthorized } = clientFor(null);
    await expect(client.admin('GET', '/me')).rejects.toMatchObject({ status: 401, code: 'signed_out' });
    expect(unauthorized()).toBe(1);
  });

  it('says when Cerulean cannot be reached, and reads an error that is not the envelope', async () => {
    const session = new SessionStore(memoryStorage());
    session.signIn({ credential: MASTER_KEY, method: 'key' });
    const unreachable = new ApiClient({ session, baseUrl: 'http://127.0.0.1:9', onUnauthorized: () => {} });
    await expect(unreachable.admin('GET', '/me')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    const proxyPage = await errorOf(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    expect(proxyPage).toMatchObject({ status: 502, message: 'The server answered 502 Bad Gateway: <html>Bad gateway</html>' });
  });
});
