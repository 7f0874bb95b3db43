import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminContext, parseInput } from '../../src/admin/admin-routes.js';
import { adminOperation } from '../../src/admin/admin-operations.js';
import { MASTER_PRINCIPAL } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { CeruleanError } from '../../src/errors/catalogue.js';
import { DeploymentTable } from '../../src/pipeline/pick-target.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';

/** The target operations over a table without a server: the CLI's direct path has no live health to show. */
let storage: Storage;
let table: DeploymentTable;

beforeAll(async () => {
  storage = await openStorage('sqlite::memory:');
  await storage.migrate();
  const config = parseConfig(
    `
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1", data_zone: eu }
deployments:
  chat:
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, capacity: provisioned }
`,
    'test.yaml',
    {},
  );
  table = new DeploymentTable(config);
});

afterAll(async () => {
  await table?.close();
  await storage?.close();
});

async function run(id: string, fields: Record<string, string>, withRoutes = true): Promise<unknown> {
  const operation = adminOperation(id);
  if (!operation) throw new Error(`no operation ${id}`);
  const context = adminContext(
    { storage, deployments: () => ['chat'], ...(withRoutes ? { routes: (name: string) => table.routesOf(name) } : {}) },
    operation,
    MASTER_PRINCIPAL,
    'test',
  );
  return operation.run(context, parseInput(operation, fields));
}

describe('target operations', () => {
  it('names the zone, the capacity and the default strategy of the table in force', async () => {
    const result = (await run('targets.list', { deployment: 'chat' })) as Record<string, any>;
    expect(result.strategy).toBe('weighted');
    expect(result.fallbacks).toEqual([]);
    expect(result.targets.map((target: Record<string, unknown>) => [target.id, target.zone, target.capacity])).toEqual([
      ['up/first', 'eu', 'standard'],
      ['up/second', 'eu', 'provisioned'],
    ]);
  });

  it('drains and restores the health object the table routes by', async () => {
    await run('targets.drain', { deployment: 'chat', target: 'up/second' });
    expect(table.routesOf('chat')?.routes[1].health.snapshot(Date.now()).drained).toBe(true);
    expect(table.plan('chat', 'chat', Date.now()).map((attempt) => attempt.route.id)).toEqual(['up/first']);
    await run('targets.restore', { deployment: 'chat', target: 'up/second' });
    expect(table.routesOf('chat')?.routes[1].health.snapshot(Date.now()).drained).toBe(false);
  });

  it('says a server is needed where there is no live table', async () => {
    const error = await run('targets.list', { deployment: 'chat' }, false).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CeruleanError);
    expect((error as CeruleanError).status).toBe(400);
    expect((error as CeruleanError).code).toBe('server_required');
  });
});
