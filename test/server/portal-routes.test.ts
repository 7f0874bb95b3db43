import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/**
 * `/portal`: the built single-page app served with caching and security headers, client routes
 * answered with index.html, and a clear 503 (never a 500) where the portal was not built.
 */
const INDEX = '<!doctype html><html><head><script type="module" src="/portal/assets/index-AbC123.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(2000))});`;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

function builtPortal(): string {
  const directory = mkdtempSync(join(tmpdir(), 'cerulean-portal-'));
  mkdirSync(join(directory, 'assets'));
  writeFileSync(join(directory, 'index.html'), INDEX);
  writeFileSync(join(directory, 'assets', 'index-AbC123.js'), SCRIPT);
  writeFileSync(join(directory, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return directory;
}

const get = (url: string, headers: Record<string, string> = {}) => request(url, { headers });

let built: RunningCerulean;
let unbuilt: RunningCerulean;
let disabled: RunningCerulean;

beforeAll(async () => {
  built = await startCerulean(`portal: { directory: ${JSON.stringify(builtPortal())} }\n`);
  unbuilt = await startCerulean(`portal: { directory: ${JSON.stringify(mkdtempSync(join(tmpdir(), 'cerulean-portal-empty-')))} }\n`);
  disabled = await startCerulean(`portal: { enabled: false, directory: ${JSON.stringify(builtPortal())} }\n`);
});

afterAll(async () => {
  await Promise.all([built?.close(), unbuilt?.close(), disabled?.close()]);
});

describe('the portal at /portal', () => {
  it('serves index.html revalidated on every visit (no-cache, ETag, 304), with the security headers', async () => {
    const page = await get(`${built.url}/portal/`);
    expect(page.statusCode).toBe(200);
    expect(page.headers).toMatchObject({ ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    expect(await page.body.text()).toBe(INDEX);
    const again = await get(`${built.url}/portal/`, { 'if-none-match': String(page.headers.etag) });
    expect(again.statusCode).toBe(304);
    expect(again.headers).toMatchObject(SECURITY_HEADERS);
    await again.body.dump();
  });

  it('redirects /portal to /portal/', async () => {
    const response = await get(`${built.url}/portal`);
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe('/portal/');
    expect(response.headers).toMatchObject(SECURITY_HEADERS);
    await response.body.dump();
  });

  it('answers any other path with index.html, for the client-side router', async () => {
    for (const path of ['/portal/keys/proj_main', '/portal/sign-in', '/portal/deployments?x=1']) {
      const response = await get(`${built.url}${path}`);
      expect(response.statusCode, path).toBe(200);
      expect(response.headers).toMatchObject({ ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
      expect(await response.body.text()).toBe(INDEX);
    }
  });

  it('caches hashed assets for a year, immutable, gzipped for a caller that accepts it', async () => {
    const plain = await get(`${built.url}/portal/assets/index-AbC123.js`);
    expect(plain.statusCode).toBe(200);
    expect(plain.headers).toMatchObject({
      ...SECURITY_HEADERS,
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'accept-encoding',
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(await plain.body.text()).toBe(SCRIPT);
    const zipped = await get(`${built.url}/portal/assets/index-AbC123.js`, { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const body = Buffer.from(await zipped.body.arrayBuffer());
    expect(body.length).toBeLessThan(SCRIPT.length / 4);
    const { gunzipSync } = await import('node:zlib');
    expect(gunzipSync(body).toString()).toBe(SCRIPT);
    const other = await get(`${built.url}/portal/favicon.svg`);
    expect(other.headers).toMatchObject({ 'content-type': 'image/svg+xml', 'cache-control': 'no-cache' });
    await other.body.dump();
  });

  it('answers a missing hashed asset 404 (never HTML in place of a script)', async () => {
    const response = await get(`${built.url}/portal/assets/index-gone.js`);
    expect(response.statusCode).toBe(404);
    expect(response.headers).toMatchObject(SECURITY_HEADERS);
    expect(((await response.body.json()) as any).error.code).toBe('unknown_url');
  });

  it('answers 503 portal_not_built, with the headers, where the portal was not built', async () => {
    for (const path of ['/portal/', '/portal/keys']) {
      const response = await get(`${unbuilt.url}${path}`);
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject(SECURITY_HEADERS);
      const { error } = (await response.body.json()) as any;
      expect(error.code).toBe('portal_not_built');
      expect(error.message).toContain('npm run build');
    }
  });

  it('is an unknown URL when switched off', async () => {
    const response = await get(`${disabled.url}/portal/`);
    expect(response.statusCode).toBe(404);
    await response.body.dump();
  });

  it("lets the portal's script reach the configured OIDC issuers", async () => {
    const withIssuer = await startCerulean(`
portal: { directory: ${JSON.stringify(builtPortal())} }
auth:
  oidc:
    - issuer: "https://login.example.test/tenant/v2.0"
      audience: "api://cerulean"
      jwks_uri: "https://login.example.test/tenant/keys"
      organization: org_a
`);
    try {
      const response = await get(`${withIssuer.url}/portal/`);
      expect(response.headers['content-security-policy']).toContain("connect-src 'self' https://login.example.test;");
      await response.body.dump();
    } finally {
      await withIssuer.close();
    }
  });
});
