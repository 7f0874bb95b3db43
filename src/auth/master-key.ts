import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthenticationError } from '../errors/catalogue.js';
import type { Authenticator, Principal } from '../pipeline/authenticate.js';

const HASH_FILE = 'master-key.sha256';
/** Visible prefix so a leaked key is recognisable in logs and secret scanners. */
export const MASTER_KEY_PREFIX = 'cer-master-';

export function hashKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export interface MasterKeySource {
  hash: Buffer;
  /** Set only on the start that generated the key: the one time it is shown. */
  generated?: string;
}

/** Raised at start when a replica on shared storage has no master key and must not make its own. */
export class MasterKeyRequiredError extends Error {
  constructor(file: string) {
    super(
      `No master key: storage is shared (PostgreSQL), so every replica must use the same one, and this one will not generate its own. ` +
        `Set CERULEAN_MASTER_KEY to the same value on every replica (or copy one replica's ${HASH_FILE} to ${file}).`,
    );
  }
}

export interface MasterKeyOptions {
  /**
   * Whether a key may be generated when none is set or stored. False on shared storage: replicas
   * that each generated their own would each accept a different master key, and admin calls would
   * succeed on some nodes only.
   */
  generate?: boolean;
}

/**
 * The bootstrap credential: `CERULEAN_MASTER_KEY` when set, else the hash stored under the data
 * directory, else (when allowed) a key generated on first start and kept only as its SHA-256.
 */
export function loadMasterKey(dataDir: string, env: NodeJS.ProcessEnv = process.env, options: MasterKeyOptions = {}): MasterKeySource {
  const fromEnv = env.CERULEAN_MASTER_KEY;
  if (fromEnv) return { hash: hashKey(fromEnv) };
  const file = join(dataDir, HASH_FILE);
  if (existsSync(file)) {
    const hex = readFileSync(file, 'utf8').trim();
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} does not hold a SHA-256 hex digest; delete it to generate a new master key.`);
    return { hash: Buffer.from(hex, 'hex') };
  }
  if (options.generate === false) throw new MasterKeyRequiredError(file);
  const generated = MASTER_KEY_PREFIX + randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  const hash = hashKey(generated);
  writeFileSync(file, `${hash.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return { hash, generated };
}

export const MASTER_PRINCIPAL: Principal = Object.freeze({ kind: 'master', id: 'master' });

/** Accepts the master key only, compared in constant time on its hash. */
export class MasterKeyAuthenticator implements Authenticator {
  private readonly hash: Buffer;
  constructor(hash: Buffer) {
    this.hash = hash;
  }

  authenticate(credential: string | undefined): Principal {
    if (credential && timingSafeEqual(hashKey(credential), this.hash)) return MASTER_PRINCIPAL;
    throw new AuthenticationError(
      credential ? 'Incorrect API key provided.' : 'Missing API key: send it as "Authorization: Bearer KEY" or as the "api-key" header.',
    );
  }
}
