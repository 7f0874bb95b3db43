import { timingSafeEqual } from 'node:crypto';
import { AuthenticationError, PermissionError } from '../errors/catalogue.js';
import type { PolicyCache } from '../governance/policy-cache.js';
import type { Authenticator, Principal } from '../pipeline/authenticate.js';
import type { ApiKeyRepository } from '../storage/storage.js';
import { hashKey, MASTER_PRINCIPAL } from './master-key.js';
import { looksLikeJwt, type OidcVerifier } from './oidc-verifier.js';

/**
 * Remembers when each key was last used and writes those times in one batch per interval, so a
 * request never waits on (or causes) a database write for it.
 */
export class KeyUsageTracker {
  private readonly repository: ApiKeyRepository;
  private pending = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly onError: (error: unknown) => void;

  constructor(repository: ApiKeyRepository, options: { intervalMs?: number; onError?: (error: unknown) => void } = {}) {
    this.repository = repository;
    this.onError = options.onError ?? (() => {});
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? 10_000);
    this.timer.unref();
  }

  used(keyId: string, at: number): void {
    this.pending.set(keyId, at);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending].map(([id, at]) => ({ id, at }));
    this.pending = new Map();
    try {
      await this.repository.touch(batch);
    } catch (error) {
      // Kept for the next flush (a newer use of the same key replaces it): an outage loses nothing.
      for (const { id, at } of batch) if (!this.pending.has(id)) this.pending.set(id, at);
      this.onError(error);
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }
}

/**
 * Authentication with governance on: the master key (bootstrap owner), managed API keys from the
 * in-memory policy cache (SHA-256 of the presented key looked up; the master key compared in
 * constant time), and OIDC bearer tokens when issuers are configured.
 */
export class GatewayAuthenticator implements Authenticator {
  private readonly masterHash: Buffer;
  private readonly cache: PolicyCache;
  private readonly oidc: OidcVerifier | undefined;
  private readonly usage: KeyUsageTracker;

  constructor(options: { masterHash: Buffer; cache: PolicyCache; oidc?: OidcVerifier; usage: KeyUsageTracker }) {
    this.masterHash = options.masterHash;
    this.cache = options.cache;
    this.oidc = options.oidc?.enabled ? options.oidc : undefined;
    this.usage = options.usage;
  }

  authenticate(credential: string | undefined): Principal | Promise<Principal> {
    if (!credential) throw new AuthenticationError('Missing API key: send it as "Authorization: Bearer KEY" or as the "api-key" header.');
    if (this.oidc && looksLikeJwt(credential)) return this.oidc.verify(credential);
    const hash = hashKey(credential);
    if (timingSafeEqual(hash, this.masterHash)) return MASTER_PRINCIPAL;
    const now = Date.now();
    const entry = this.cache.keyByHash(hash.toString('hex'), now);
    if (!entry) throw new AuthenticationError();
    if (entry.key.suspendedAt != null) {
      throw new PermissionError('This API key is suspended after repeated content-policy violations; the service operator can reinstate it.', 'key_suspended');
    }
    if (!entry.project.keyAuthEnabled) {
      throw new PermissionError(`Key authentication is disabled for project "${entry.project.id}": use an access token.`, 'key_auth_disabled');
    }
    this.usage.used(entry.key.id, now);
    return entry.principal;
  }
}
