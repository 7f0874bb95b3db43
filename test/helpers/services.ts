import { inject } from 'vitest';

export { POSTGRES_URL, REDIS_URL } from './service-urls.js';

/**
 * Whether PostgreSQL and Redis answered when the run began (test/setup/services.global-setup.ts
 * probes them once). A suite that needs one reads `postgresAvailable` / `redisAvailable` and skips
 * without it; the global setup names every such suite in one line, or fails the run instead when
 * CERULEAN_REQUIRE_SERVICES=1 (as .ci/run sets).
 */
// Run without the global setup (another vitest config), nothing was probed: assume both answer.
const services = inject('services') ?? { postgres: true, redis: true };
export const postgresAvailable = services.postgres;
export const redisAvailable = services.redis;
