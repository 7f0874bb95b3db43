import type { OidcIssuerConfig } from '../config/schema.js';

/**
 * What the portal needs to know to sign people in through an OIDC issuer, all of it public: the
 * issuer, the portal's public client id there, the scopes to ask for, and the endpoints when the
 * configuration names them (else the portal reads them from the issuer's discovery document).
 * Served unauthenticated at `/portal/identity-providers.json`: a person is not signed in yet.
 */
export interface PortalIdentityProvider {
  readonly issuer: string;
  readonly client_id: string;
  readonly scopes: string;
  readonly authorization_endpoint: string | null;
  readonly token_endpoint: string | null;
}

/** The issuers the portal offers single sign-on through: those with a `client_id`. */
export function portalIdentityProviders(issuers: readonly OidcIssuerConfig[]): PortalIdentityProvider[] {
  return issuers.flatMap((issuer) =>
    issuer.client_id === undefined
      ? []
      : [
          {
            issuer: issuer.issuer,
            client_id: issuer.client_id,
            scopes: issuer.scopes,
            authorization_endpoint: issuer.authorization_endpoint ?? null,
            token_endpoint: issuer.token_endpoint ?? null,
          },
        ],
  );
}

/**
 * The origins the portal's script calls to sign in: each issuer's (its discovery document, and the
 * token endpoint when discovery puts it there) and a configured token endpoint's. A discovered token
 * endpoint on another origin is not known here: configure `token_endpoint` for such an issuer.
 */
export function portalConnectOrigins(issuers: readonly OidcIssuerConfig[]): string[] {
  const origins = new Set<string>();
  for (const { issuer, token_endpoint } of issuers) {
    for (const url of [issuer, token_endpoint]) if (url !== undefined && URL.canParse(url)) origins.add(new URL(url).origin);
  }
  return [...origins];
}
