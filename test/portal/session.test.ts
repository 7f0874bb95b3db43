import { describe, expect, it } from 'vitest';
import { hasExpired, SessionStore, tokenExpiry, type KeyValueStorage } from '../../portal/src/api/session.js';

/** The portal's session: one credential in the tab's session storage, forgotten wholly on sign-out. */
class MemoryStorage implements KeyValueStorage {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
  clear(): void {
    this.items.clear();
  }
}

describe('SessionStore', () => {
  it('keeps the signed-in credential in the given storage and reads it back', () => {
    const storage = new MemoryStorage();
    const session = new SessionStore(storage);
    expect(session.current()).toBeNull();
    session.signIn({ credential: 'cer-abc', method: 'key' });
    expect(session.current()).toEqual({ credential: 'cer-abc', method: 'key' });
    // Another store over the same storage (a reload of the page) finds it.
    expect(new SessionStore(storage).credential()).toBe('cer-abc');
  });

  it("keeps a single sign-on token's expiry, read from its exp claim, and tells when it has passed", () => {
    const jwt = (claims: object) => `${btoa('{"alg":"RS256"}')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;
    expect(tokenExpiry(jwt({ sub: 'u', exp: 1_900_000_000 }))).toBe(1_900_000_000_000);
    expect(tokenExpiry(jwt({ sub: 'u' }))).toBeUndefined();
    expect(tokenExpiry(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(tokenExpiry('cer-not-a-jwt')).toBeUndefined();
    expect(tokenExpiry('a.%%%.c')).toBeUndefined();

    const storage = new MemoryStorage();
    new SessionStore(storage).signIn({ credential: 'header.payload.sig', method: 'oidc', expiresAt: 5_000 });
    const session = new SessionStore(storage).current()!;
    expect(session).toEqual({ credential: 'header.payload.sig', method: 'oidc', expiresAt: 5_000 });
    expect(hasExpired(session, 4_999)).toBe(false);
    expect(hasExpired(session, 5_000)).toBe(true);
    expect(hasExpired({ credential: 'cer-abc', method: 'key' }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('forgets everything in the storage on sign-out, and remembers why only when told', () => {
    const storage = new MemoryStorage();
    const session = new SessionStore(storage);
    session.signIn({ credential: 'cer-abc', method: 'key' });
    storage.setItem('something-else', 'x');
    session.signOut();
    expect(storage.items.size).toBe(0);
    expect(session.current()).toBeNull();
    expect(session.endedBecause()).toBeNull();
    session.signIn({ credential: 'cer-abc', method: 'key' });
    session.signOut('expired');
    expect(session.endedBecause()).toBe('expired');
    session.signIn({ credential: 'cer-def', method: 'oidc' });
    expect(session.endedBecause()).toBeNull();
  });

  it('treats a damaged or foreign entry as signed out', () => {
    const storage = new MemoryStorage();
    const session = new SessionStore(storage);
    for (const raw of ['not json', '{"credential":""}', '{"credential":"x","method":"cookie"}', '42']) {
      storage.setItem('cerulean.session', raw);
      expect(session.current(), raw).toBeNull();
    }
  });

  it('tells subscribers about sign-in and sign-out until they unsubscribe', () => {
    const session = new SessionStore(new MemoryStorage());
    let calls = 0;
    const unsubscribe = session.subscribe(() => (calls += 1));
    session.signIn({ credential: 'a', method: 'key' });
    session.signOut();
    expect(calls).toBe(2);
    unsubscribe();
    session.signIn({ credential: 'b', method: 'key' });
    expect(calls).toBe(2);
  });
});
