import type { IncomingHttpHeaders } from 'node:http';

/** Who is calling. The bootstrap master key is the only kind until managed keys exist. */
export interface Principal {
  kind: 'master';
  id: string;
}

/** Stage 1: turns the presented credential into a principal or throws AuthenticationError. */
export interface Authenticator {
  authenticate(credential: string | undefined): Principal;
}

/** The credential from `Authorization: Bearer KEY` or, as Azure clients send it, `api-key: KEY`. */
export function credentialFrom(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    return match ? match[1].trim() : undefined;
  }
  const apiKey = headers['api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}
