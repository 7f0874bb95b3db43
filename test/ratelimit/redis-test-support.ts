import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { REDIS_URL } from '../helpers/service-urls.js';

/** The Redis the limiter tests really use (skipped when it does not answer: test/helpers/services.ts). */
export const TEST_REDIS_URL = REDIS_URL;

/** A key prefix no other test run shares, inside the `{cerulean}` hash tag the store expects. */
export function testKeyPrefix(): string {
  return `{cerulean}:test-${randomBytes(6).toString('hex')}:rl:`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
