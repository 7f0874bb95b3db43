import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { AuthenticationError } from '../errors/catalogue.js';
import type { Principal, RoleGrant } from '../pipeline/authenticate.js';
import type { Role } from '../storage/storage.js';

/** One trusted token issuer (e.g. an Entra ID tenant), as configured under `auth.oidc`. */
export interface OidcIssuer {
  issuer: string;
  audience: string | string[];
  jwks_uri: string;
  /** Users signing in through this issuer belong to this organization. */
  organization: string;
  /** Claim holding app roles (Entra ID: `roles`). */
  roles_claim: string;
  /** App role name -> Cerulean role on the organization. */
  role_map: Record<string, Role>;
  /** Claim holding the e-mail address (Entra ID: `preferred_username` or `email`). */
  email_claim: string;
}

/** Maps a validated identity to a stored user and the roles stored for it. */
export interface UserDirectory {
  resolve(identity: { issuer: string; subject: string; email: string | null; organizationId: string }): Promise<{ userId: string; grants: RoleGrant[] }>;
}

/** Looks like a compact JWS: three base64url segments, the first a JSON header (`eyJ…`). */
export function looksLikeJwt(credential: string): boolean {
  return credential.startsWith('eyJ') && credential.split('.').length === 3;
}

/**
 * Validates `Authorization: Bearer <JWT>` tokens against the configured issuers with jose: the
 * signature against the issuer's JWKS (fetched and cached by jose, refreshed on an unknown `kid`),
 * then issuer, audience, expiry and not-before. Roles come from the issuer's role claim through
 * `role_map`, plus whatever roles are stored for the mapped user.
 */
export class OidcVerifier {
  private readonly issuers = new Map<string, { config: OidcIssuer; keys: JWTVerifyGetKey }>();
  private readonly directory: UserDirectory;

  constructor(issuers: readonly OidcIssuer[], directory: UserDirectory, keySets?: Map<string, JWTVerifyGetKey>) {
    for (const config of issuers) {
      this.issuers.set(config.issuer, { config, keys: keySets?.get(config.issuer) ?? createRemoteJWKSet(new URL(config.jwks_uri)) });
    }
    this.directory = directory;
  }

  get enabled(): boolean {
    return this.issuers.size > 0;
  }

  async verify(token: string): Promise<Principal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new AuthenticationError('The bearer token is not a valid JWT.');
    }
    const entry = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    if (!entry) throw new AuthenticationError('The token was issued by an issuer this service does not trust.');
    const { config, keys } = entry;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: config.issuer, audience: config.audience, clockTolerance: 30 }));
    } catch (error) {
      const reason =
        error instanceof joseErrors.JWTExpired
          ? 'the token has expired'
          : error instanceof joseErrors.JWTClaimValidationFailed
            ? `claim "${error.claim}" is not acceptable`
            : 'its signature could not be verified';
      throw new AuthenticationError(`The bearer token was rejected: ${reason}.`);
    }
    if (typeof payload.sub !== 'string' || payload.sub === '') throw new AuthenticationError('The bearer token has no subject.');
    const emailClaim = payload[config.email_claim] ?? payload.email ?? payload.preferred_username;
    const { userId, grants } = await this.directory.resolve({
      issuer: config.issuer,
      subject: payload.sub,
      email: typeof emailClaim === 'string' ? emailClaim : null,
      organizationId: config.organization,
    });
    const claimed = payload[config.roles_claim];
    const fromToken: RoleGrant[] = [];
    if (Array.isArray(claimed)) {
      for (const name of claimed) {
        const role = typeof name === 'string' ? config.role_map[name] : undefined;
        if (role) fromToken.push({ scope: 'organization', scopeId: config.organization, role });
      }
    }
    return { kind: 'user', id: userId, organizationId: config.organization, roles: [...grants, ...fromToken] };
  }
}
