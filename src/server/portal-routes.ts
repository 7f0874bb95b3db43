import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PortalNotBuiltError, RouteNotFoundError } from '../errors/catalogue.js';
import type { PortalIdentityProvider } from './portal-sign-in.js';

/**
 * The web portal: a single-page app built by Vite into `dist/portal` (`portal/` in a checkout),
 * served at `/portal`. The build is read into memory once at start (a few hundred KB, each text
 * file also gzipped once), so a request costs a map lookup. Hashed files under `assets/` are
 * cached for a year; `index.html` is revalidated each time (ETag), and every other path under
 * `/portal/` answers `index.html` so the app's own router handles it.
 */
export const PORTAL_PREFIX = '/portal';

/** Where `npm run build` puts the portal: `dist/portal` beside `src/` (or `dist/` when built). */
export const DEFAULT_PORTAL_DIRECTORY = fileURLToPath(new URL('../../dist/portal/', import.meta.url));

/** Vite's output folder for content-hashed files: their name changes whenever their content does. */
const HASHED_FOLDER = 'assets/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

interface PortalFile {
  readonly body: Buffer;
  /** The same bytes gzipped, when that is smaller. */
  readonly gzip: Buffer | undefined;
  readonly type: string;
  readonly cacheControl: string;
  readonly etag: string;
}

export interface PortalOptions {
  /** The built portal (holding `index.html`). */
  readonly directory: string;
  /** Origins besides this one the portal's script may call (the OIDC issuers, for sign-in). */
  readonly connectOrigins?: readonly string[];
  /** The OIDC issuers the portal offers single sign-on through (public facts only). */
  readonly identityProviders?: readonly PortalIdentityProvider[];
}

/** Where the portal reads its single sign-on issuers before anyone is signed in. */
export const IDENTITY_PROVIDERS_PATH = `${PORTAL_PREFIX}/identity-providers.json`;

/**
 * The headers of every `/portal` response. The CSP allows no inline script or style and no eval:
 * the build emits only files, and credentials travel in an `Authorization` header set by script,
 * so there is no cookie to forge a request with (no CSRF) and nothing to frame.
 */
export function portalSecurityHeaders(connectOrigins: readonly string[] = []): Record<string, string> {
  const connect = ["'self'", ...connectOrigins].join(' ');
  return {
    'content-security-policy': `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}

/** Every file of the build by its path relative to the directory (`index.html`, `assets/index-abc.js`); undefined when not built. */
export function readPortalBuild(directory: string): ReadonlyMap<string, PortalFile> | undefined {
  if (!existsSync(join(directory, 'index.html'))) return undefined;
  const files = new Map<string, PortalFile>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) {
        const name = relative(directory, path).split(sep).join('/');
        const body = readFileSync(path);
        const type = TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
        const zipped = COMPRESSIBLE.test(type) ? gzipSync(body, { level: 9 }) : undefined;
        files.set(name, {
          body,
          gzip: zipped && zipped.length < body.length ? zipped : undefined,
          type,
          cacheControl: name.startsWith(HASHED_FOLDER) ? IMMUTABLE : REVALIDATE,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        });
      }
    }
  };
  walk(directory);
  return files;
}

function acceptsGzip(request: FastifyRequest): boolean {
  const accepted = request.headers['accept-encoding'];
  return typeof accepted === 'string' && /\bgzip\b/.test(accepted);
}

function send(request: FastifyRequest, reply: FastifyReply, file: PortalFile): FastifyReply {
  reply.header('cache-control', file.cacheControl).header('etag', file.etag).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  reply.type(file.type);
  if (file.gzip && acceptsGzip(request)) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

/**
 * Serves the portal at `/portal` (redirected to `/portal/`) and below. Without a build there, every
 * such request answers 503 `portal_not_built` (a checkout never built), never a 500.
 */
export function registerPortalRoutes(app: FastifyInstance, options: PortalOptions): void {
  const files = readPortalBuild(options.directory);
  if (!files) app.log.warn({ directory: options.directory }, 'the portal is not built: /portal answers 503 until it is built and the server restarted');
  const index = files?.get('index.html');
  const headers = portalSecurityHeaders(options.connectOrigins);
  const onRequest = (_request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    reply.headers(headers);
    done();
  };
  app.get(PORTAL_PREFIX, { onRequest }, async (_request, reply) => reply.redirect(`${PORTAL_PREFIX}/`, 308));
  // Public facts, unauthenticated: the sign-in page needs them before anyone is signed in. Revalidated, never cached long.
  const providers = JSON.stringify({ data: options.identityProviders ?? [] });
  app.get(IDENTITY_PROVIDERS_PATH, { onRequest }, async (_request, reply) =>
    reply.header('cache-control', REVALIDATE).type('application/json; charset=utf-8').send(providers),
  );
  app.get(`${PORTAL_PREFIX}/*`, { onRequest }, async (request, reply) => {
    if (!files || !index) throw new PortalNotBuiltError();
    const path = (request.params as { '*': string })['*'];
    const file = files.get(path);
    if (file) return send(request, reply, file);
    // A hashed file that is not there is a stale reference, not a page of the app: HTML would not run as a script.
    if (path.startsWith(HASHED_FOLDER)) throw new RouteNotFoundError(request.method, request.url.split('?')[0]);
    return send(request, reply, index);
  });
}
