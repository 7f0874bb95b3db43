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
        return { credential: parsed.credential, method: parsed.method };
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
