import type { Fetch } from './api-client.js';
import type { KeyValueStorage } from './session.js';

/**
 * Single sign-on in the browser: OAuth 2.0 authorization code flow with PKCE (RFC 7636, S256) as a
 * public client, against the OIDC issuers Cerulean trusts. The portal learns them from
 * `/portal/identity-providers.json`, sends the person to the issuer with a code challenge, and on
 * the way back exchanges the code and its verifier for a token at the token endpoint, from script.
 * The verifier and state live in session storage between the two halves (this tab only); the token
 * then becomes the session's credential like a pasted key.
 */

/** An issuer as `/portal/identity-providers.json` describes it (src/server/portal-sign-in.ts). */
export interface IdentityProvider {
  readonly issuer: string;
  readonly client_id: string;
  readonly scopes: string;
  readonly authorization_endpoint: string | null;
  readonly token_endpoint: string | null;
}

export const IDENTITY_PROVIDERS_URL = '/portal/identity-providers.json';

/** Where the issuer sends people back (registered at the issuer as the portal's redirect URI). */
export const CALLBACK_PATH = '/portal/sign-in/callback';

/** The sign-in under way between leaving for the issuer and coming back. */
interface PendingSignIn {
  readonly issuer: string;
  readonly clientId: string;
  readonly tokenEndpoint: string;
  readonly redirectUri: string;
  readonly verifier: string;
  readonly state: string;
  /** Portal path to open once signed in. */
  readonly returnTo: string;
}

const PENDING_KEY = 'cerulean.sign-in';

/** A sign-in that cannot go on, worded for the person (the issuer's own words where it gave some). */
export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A random string of 43 base64url characters (32 bytes): a PKCE verifier, or a state. */
export function randomToken(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** The S256 code challenge of a verifier: base64url(SHA-256(verifier)). */
export async function codeChallenge(verifier: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

async function readJson(fetch: Fetch, url: string, what: string, init?: RequestInit): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, credentials: 'omit' });
  } catch {
    throw new SignInError(`${what} could not be reached (${new URL(url).origin}): check the connection, and that the portal's security policy allows it.`);
  }
  const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
  if (!response.ok || body === null || typeof body !== 'object') {
    const reason =
      body && typeof body.error === 'string'
        ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}`
        : `HTTP ${response.status}`;
    throw new SignInError(`${what} refused: ${reason}.`);
  }
  return body;
}

/** The issuer's endpoints: as configured, else from its discovery document. */
export async function endpointsOf(provider: IdentityProvider, fetch: Fetch): Promise<{ authorization: string; token: string }> {
  if (provider.authorization_endpoint && provider.token_endpoint) return { authorization: provider.authorization_endpoint, token: provider.token_endpoint };
  const discovery = await readJson(fetch, `${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, "The issuer's discovery document");
  const authorization = provider.authorization_endpoint ?? discovery.authorization_endpoint;
  const token = provider.token_endpoint ?? discovery.token_endpoint;
  if (typeof authorization !== 'string' || typeof token !== 'string')
    throw new SignInError(`The issuer ${provider.issuer} names no authorization or token endpoint.`);
  return { authorization, token };
}

/**
 * First half: remembers a new verifier and state in `storage` and returns the issuer's URL to send
 * the person to (with the S256 challenge, never the verifier).
 */
export async function beginSignIn(
  provider: IdentityProvider,
  options: { storage: KeyValueStorage; fetch: Fetch; origin: string; returnTo: string },
): Promise<string> {
  const endpoints = await endpointsOf(provider, options.fetch);
  const pending: PendingSignIn = {
    issuer: provider.issuer,
    clientId: provider.client_id,
    tokenEndpoint: endpoints.token,
    redirectUri: options.origin + CALLBACK_PATH,
    verifier: randomToken(),
    state: randomToken(),
    returnTo: options.returnTo,
  };
  options.storage.setItem(PENDING_KEY, JSON.stringify(pending));
  const url = new URL(endpoints.authorization);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', pending.clientId);
  url.searchParams.set('redirect_uri', pending.redirectUri);
  url.searchParams.set('scope', provider.scopes);
  url.searchParams.set('state', pending.state);
  url.searchParams.set('code_challenge', await codeChallenge(pending.verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}

function pendingIn(storage: KeyValueStorage): PendingSignIn | null {
  const raw = storage.getItem(PENDING_KEY);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as PendingSignIn;
  } catch {
    return null;
  }
}

/** Looks like a compact JWS (what Cerulean accepts as a bearer token from an issuer). */
function isJwt(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('eyJ') && value.split('.').length === 3;
}

/**
 * Second half, on the callback page with the issuer's query: checks the state, exchanges the code
 * and the verifier for tokens, forgets the pending sign-in either way, and returns the credential to
 * send Cerulean (the access token when it is a JWT, as Entra ID's for an API scope is; else the ID token).
 */
export async function completeSignIn(
  query: URLSearchParams,
  options: { storage: KeyValueStorage; fetch: Fetch },
): Promise<{ credential: string; returnTo: string }> {
  const pending = pendingIn(options.storage);
  options.storage.removeItem(PENDING_KEY);
  if (!pending) throw new SignInError('No sign-in was under way in this tab: start again from the sign-in page.');
  if (query.get('state') !== pending.state) throw new SignInError('The answer does not belong to the sign-in this tab started: start again.');
  const refused = query.get('error');
  if (refused)
    throw new SignInError(`The issuer refused the sign-in: ${refused}${query.get('error_description') ? `: ${query.get('error_description')}` : ''}.`);
  const code = query.get('code');
  if (!code) throw new SignInError('The issuer sent no authorization code back.');
  const tokens = await readJson(options.fetch, pending.tokenEndpoint, 'The token endpoint', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: pending.redirectUri,
      client_id: pending.clientId,
      code_verifier: pending.verifier,
    }).toString(),
  });
  const credential = isJwt(tokens.access_token) ? tokens.access_token : isJwt(tokens.id_token) ? tokens.id_token : null;
  if (!credential) throw new SignInError('The issuer answered without a token Cerulean can check (a JWT access or ID token).');
  return { credential, returnTo: pending.returnTo.startsWith('/') ? pending.returnTo : '/' };
}
