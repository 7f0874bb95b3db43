/**
 * The PostgreSQL and Redis the multi-node suites run against (override with these variables), and
 * what test/setup/services.global-setup.ts found answering when the run began.
 */
export const POSTGRES_URL = process.env.CERULEAN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.CERULEAN_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface AvailableServices {
  readonly postgres: boolean;
  readonly redis: boolean;
}

declare module 'vitest' {
  export interface ProvidedContext {
    services: AvailableServices;
  }
}
