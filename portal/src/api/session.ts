/**
 * Where the signed-in credential lives: session storage only (gone when the tab closes, never a
 * cookie, never in a URL or local storage). Every API call reads it here and sends it in an
 * `Authorization` header from script, so no request can be forged from another site (no CSRF).
 * `method` tells how it was obtained: a pasted key or token today; single sign-on (OIDC with PKCE)
 * ends in the same `signIn` with its access token.
 */
export interface Session {
  readonly credential: string;
  readonly method: 'key' | 'oidc';
  /** When a single sign-on token stops being accepted (epoch ms, its `exp`); absent for keys, which Cerulean judges on each call. */
  readonly expiresAt?: number;
}

/** A JWT's `exp` in epoch ms, or undefined when the token is no JWT or carries none (the payload is read, not verified: Cerulean verifies). */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const base64 = payload
      .replace(/-/g, '+')
      .replace(/_/g, '/')
      .padEnd(Math.ceil(payload.length / 4) * 4, '=');
    const claims = JSON.parse(atob(base64)) as { exp?: unknown };
    return typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** True when the session's token has passed its expiry at `now`. */
export function hasExpired(session: Session, now: number): boolean {
  return session.expiresAt !== undefined && session.expiresAt <= now;
}

/** The part of the Web Storage API the store needs (sessionStorage in the browser). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  clear(): void;
}

const SESSION_KEY = 'cerulean.session';

export class SessionStore {
  private readonly storage: KeyValueStorage;
  private readonly listeners = new Set<() => void>();
  /** Why the last session ended, when the server ended it (shown on the sign-in page); kept in memory only. */
  private ended: string | null = null;

  constructor(storage: KeyValueStorage) {
    this.storage = storage;
  }

  /** The current session, read from storage each time (another tab's sign-out does not reach this one: storage is per tab). */
  current(): Session | null {
    const raw = this.storage.getItem(SESSION_KEY);
    if (!raw) return null;
    try {
      const parsed = JSON.parse(raw) as Partial<Session>;
      if (typeof parsed.credential === 'string' && parsed.credential !== '' && (parsed.method === 'key' || parsed.method === 'oidc')) {
        const expiresAt = typeof parsed.expiresAt === 'number' ? { expiresAt: parsed.expiresAt } : {};
        return { credential: parsed.credential, method: parsed.method, ...expiresAt };
      }
    } catch {
      // Not ours or damaged: treated as signed out.
    }
    return null;
  }

  /** The credential alone: a stable value for React to compare. */
  credential(): string | null {
    return this.current()?.credential ?? null;
  }

  signIn(session: Session): void {
    this.ended = null;
    this.storage.setItem(SESSION_KEY, JSON.stringify(session));
    this.notify();
  }

  /** Forgets everything this tab's portal kept; `reason` says why, when the person did not ask. */
  signOut(reason: string | null = null): void {
    this.ended = reason;
    this.storage.clear();
    this.notify();
  }

  /** Why the server ended the last session, if it did. */
  endedBecause(): string | null {
    return this.ended;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }
}
