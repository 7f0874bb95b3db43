import type { Insertable } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageRecordsTable, UsageRollupsTable } from '../../src/storage/kysely/database.js';
import { MIGRATIONS, migrateToLatest } from '../../src/storage/kysely/migrations.js';
import { pageOf } from '../../src/storage/kysely/response-repository.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { POSTGRES_TRAITS } from '../../src/storage/postgres/postgres-storage.js';
import { SQLITE_TRAITS } from '../../src/storage/sqlite/sqlite-storage.js';
import type { Storage, StoredResponse, UsageRecord } from '../../src/storage/storage.js';
import { placesFor, T0, type Place } from './storage-test-support.js';
import { postgresAvailable } from '../helpers/services.js';

/**
 * Conformance of 0003_usage_api_and_responses: the stored Responses repository, and the upgrade of
 * a database whose usage predates the `api` column. Same dialect setup as the other storage suites:
 * a fresh SQLite file or PostgreSQL schema per test.
 */

const DAY = 86_400_000;

const PLACES = placesFor('responses-storage');

/** Input items with ids `msg_1` … `msg_<count>`, in input order. */
function items(count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, (_, i) => ({
    id: `msg_${i + 1}`,
    type: 'message',
    role: 'user',
    content: [{ type: 'input_text', text: `turn ${i + 1}` }],
  }));
}

function stored(id: string, overrides: Partial<StoredResponse> = {}): StoredResponse {
  return {
    id,
    projectId: 'proj_a',
    createdAt: T0,
    model: 'gpt',
    previousResponseId: null,
    input: items(3),
    response: {
      id,
      object: 'response',
      created_at: Math.floor(T0 / 1000),
      status: 'completed',
      model: 'gpt',
      output: [
        { id: 'msg_out', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Hi ✓ "quoted"', annotations: [] }] },
      ],
      usage: { input_tokens: 12, output_tokens: 3, total_tokens: 15 },
      metadata: {},
    },
    status: 'completed',
    ...overrides,
  };
}

const ids = (data: unknown[]): unknown[] => data.map((item) => (item as { id?: unknown }).id);

describe.each(postgresAvailable ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const))('stored responses on %s', (dialect) => {
  let place: Place;
  let storage: Storage;

  beforeEach(async () => {
    place = await PLACES[dialect]();
    storage = await openStorage(place.url);
    await storage.migrate();
  });

  afterEach(async () => {
    await storage.close();
    await place.dispose();
  });

  it('puts and gets a response with its JSON intact, and replaces it by id', async () => {
    const first = stored('resp_1', {
      previousResponseId: 'resp_0',
      input: [...items(2), { type: 'message', role: 'user', content: 'no id, nul \u0000 kept' }],
    });
    await storage.responses.put(first);
    expect(await storage.responses.get('proj_a', 'resp_1')).toEqual(first);
    expect(await storage.responses.get('proj_a', 'resp_missing')).toBeUndefined();

    // A background response finishing: same id, new status and object.
    const finished = stored('resp_1', {
      status: 'incomplete',
      response: { id: 'resp_1', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } },
    });
    await storage.responses.put(finished);
    expect(await storage.responses.get('proj_a', 'resp_1')).toEqual(finished);

    // The master key's responses live under project ''.
    const master = stored('resp_master', { projectId: '' });
    await storage.responses.put(master);
    expect(await storage.responses.get('', 'resp_master')).toEqual(master);

    // Given already serialised (the JSON answer the caller sends), the text is stored as given.
    const serialised = stored('resp_text', { response: { id: 'resp_text', status: 'completed', output_text: 'é "quoted"' } });
    await storage.responses.put({ ...serialised, responseJson: JSON.stringify(serialised.response, null, 1) });
    expect(await storage.responses.get('proj_a', 'resp_text')).toEqual(serialised);
    const db = place.kysely();
    try {
      const row = await db.selectFrom('responses').select('response').where('id', '=', 'resp_text').executeTakeFirst();
      expect(row?.response).toBe(JSON.stringify(serialised.response, null, 1));
    } finally {
      await db.destroy();
    }
  });

  it("keeps each project to its own responses: another project's id reads, lists and deletes as missing", async () => {
    await storage.responses.put(stored('resp_a'));
    await storage.responses.put(stored('resp_b', { projectId: 'proj_b' }));
    expect(await storage.responses.get('proj_b', 'resp_a')).toBeUndefined();
    expect(await storage.responses.get('', 'resp_a')).toBeUndefined();
    expect(await storage.responses.listInputItems('proj_b', 'resp_a', {})).toBeUndefined();
    expect(await storage.responses.delete('proj_b', 'resp_a')).toBe(false);
    expect(await storage.responses.get('proj_a', 'resp_a')).toBeDefined();
    expect((await storage.responses.get('proj_b', 'resp_b'))?.projectId).toBe('proj_b');
  });

  it('stores the responses put during one turn together, more than one statement holds, the last put of an id winning', async () => {
    const many = Array.from({ length: 1_203 }, (_, i) => stored(`resp_many_${i}`));
    const again = stored('resp_many_7', { status: 'incomplete' });
    await Promise.all([...many.map((record) => storage.responses.put(record)), storage.responses.put(again)]);
    expect(await storage.responses.get('proj_a', 'resp_many_0')).toEqual(many[0]);
    expect(await storage.responses.get('proj_a', 'resp_many_1202')).toEqual(many[1202]);
    expect((await storage.responses.get('proj_a', 'resp_many_7'))?.status).toBe('incomplete');
    expect(await storage.responses.prune(Number.MAX_SAFE_INTEGER)).toBe(1_203);
  });

  it('deletes a response once', async () => {
    await storage.responses.put(stored('resp_1'));
    expect(await storage.responses.delete('proj_a', 'resp_1')).toBe(true);
    expect(await storage.responses.get('proj_a', 'resp_1')).toBeUndefined();
    expect(await storage.responses.delete('proj_a', 'resp_1')).toBe(false);
    expect(await storage.responses.listInputItems('proj_a', 'resp_1', {})).toBeUndefined();
  });

  it('lists input items newest first by default, 20 a page, and pages with after and before', async () => {
    await storage.responses.put(stored('resp_long', { input: items(45) }));
    const list = (options: Parameters<Storage['responses']['listInputItems']>[2]) => storage.responses.listInputItems('proj_a', 'resp_long', options);

    const first = await list({});
    expect(first?.data).toHaveLength(20);
    expect(first).toMatchObject({ first_id: 'msg_45', last_id: 'msg_26', has_more: true });
    expect(first?.data[0]).toEqual(items(45)[44]);
    const second = await list({ after: 'msg_26' });
    expect(second).toMatchObject({ first_id: 'msg_25', last_id: 'msg_6', has_more: true });
    const last = await list({ after: 'msg_6' });
    expect(ids(last?.data ?? [])).toEqual(['msg_5', 'msg_4', 'msg_3', 'msg_2', 'msg_1']);
    expect(last?.has_more).toBe(false);
    // Back from the second page: the page just before its first item, with nothing before that.
    expect(await list({ before: 'msg_25' })).toEqual({ ...first, has_more: false });
    expect(await list({ before: 'msg_20', limit: 3 })).toMatchObject({ first_id: 'msg_23', last_id: 'msg_21', has_more: true });

    const ascending = await list({ order: 'asc', limit: 10 });
    expect(ids(ascending?.data ?? [])).toEqual(items(10).map((item) => item.id));
    expect(ascending).toMatchObject({ first_id: 'msg_1', last_id: 'msg_10', has_more: true });
    expect(ids((await list({ order: 'asc', after: 'msg_40', limit: 10 }))?.data ?? [])).toEqual(['msg_41', 'msg_42', 'msg_43', 'msg_44', 'msg_45']);
    const previous = await list({ order: 'asc', before: 'msg_4', limit: 2 });
    expect(previous).toMatchObject({ first_id: 'msg_2', last_id: 'msg_3', has_more: true });
    expect(await list({ order: 'asc', before: 'msg_3', limit: 2 })).toMatchObject({ first_id: 'msg_1', last_id: 'msg_2', has_more: false });
    // Both cursors: what lies between them.
    expect(ids((await list({ order: 'asc', after: 'msg_10', before: 'msg_14' }))?.data ?? [])).toEqual(['msg_11', 'msg_12', 'msg_13']);
    expect(ids((await list({ after: 'msg_14', before: 'msg_10', limit: 2 }))?.data ?? [])).toEqual(['msg_13', 'msg_12']);

    // The limit is brought within 1 to 100.
    expect((await list({ limit: 0 }))?.data).toHaveLength(1);
    expect((await list({ limit: 500 }))?.data).toHaveLength(45);
    expect(await list({ limit: 500 })).toMatchObject({ has_more: false });
    // An id that is not among the items: an empty page.
    expect(await list({ after: 'msg_nope' })).toEqual({ data: [], first_id: null, last_id: null, has_more: false });
    expect(await list({ before: 'msg_nope' })).toEqual({ data: [], first_id: null, last_id: null, has_more: false });
  });

  it("finds an input or output item by id among the project's responses, never a reference to it nor another project's", async () => {
    await storage.responses.put(stored('resp_1'));
    // A later response refers to the output item and to an item that is nowhere.
    await storage.responses.put(
      stored('resp_2', {
        createdAt: T0 + 1,
        input: [
          { type: 'item_reference', id: 'msg_out' },
          { type: 'item_reference', id: 'msg_gone' },
        ],
      }),
    );
    await storage.responses.put(
      stored('resp_b', { projectId: 'proj_b', input: [{ id: 'msg_b', type: 'message', role: 'user', content: 'b' }], response: { id: 'resp_b', output: [] } }),
    );
    expect(await storage.responses.findItem('proj_a', 'msg_out')).toEqual((stored('resp_1').response.output as unknown[])[0]);
    expect(await storage.responses.findItem('proj_a', 'msg_2')).toEqual(items(3)[1]);
    expect(await storage.responses.findItem('proj_a', 'msg_gone')).toBeUndefined();
    expect(await storage.responses.findItem('proj_a', 'msg_b')).toBeUndefined();
    expect(await storage.responses.findItem('proj_b', 'msg_out')).toBeUndefined();
    // LIKE's wildcards in an id match no more than the id itself.
    expect(await storage.responses.findItem('proj_a', 'msg%')).toBeUndefined();
    expect(await storage.responses.findItem('proj_a', 'msg__')).toBeUndefined();
  });

  it('lists a response without input items as an empty page', async () => {
    await storage.responses.put(stored('resp_empty', { input: [] }));
    expect(await storage.responses.listInputItems('proj_a', 'resp_empty', {})).toEqual({ data: [], first_id: null, last_id: null, has_more: false });
  });

  it('prunes responses created before a time', async () => {
    await storage.responses.put(stored('resp_old', { createdAt: T0 - 31 * DAY }));
    await storage.responses.put(stored('resp_edge', { createdAt: T0 - 30 * DAY }));
    await storage.responses.put(stored('resp_new', { createdAt: T0, projectId: 'proj_b' }));
    expect(await storage.responses.prune(T0 - 30 * DAY)).toBe(1);
    expect(await storage.responses.get('proj_a', 'resp_old')).toBeUndefined();
    expect(await storage.responses.get('proj_a', 'resp_edge')).toBeDefined();
    expect(await storage.responses.prune(T0 + 1)).toBe(2);
    expect(await storage.responses.prune(T0 + 1)).toBe(0);
  });

  it('upgrades a database whose usage predates the api column: its records and rollups read as chat', async () => {
    const old = await PLACES[dialect]();
    try {
      const db = old.kysely();
      try {
        if (dialect === 'postgres') await db.schema.createSchema(new URL(old.url).searchParams.get('schema')!).ifNotExists().execute();
        const traits = dialect === 'sqlite' ? SQLITE_TRAITS : POSTGRES_TRAITS;
        expect((await migrateToLatest(db, traits, MIGRATIONS.slice(0, 2))).current).toBe('0002_content_safety');
        // Rows as 0002 wrote them, without `api` (today's table types require it, hence the casts).
        const row: Omit<Insertable<UsageRecordsTable>, 'api' | 'estimated' | 'attempts' | 'targets_tried' | 'attempt_errors'> = {
          request_id: 'req_old',
          at: T0,
          organization_id: 'org_1',
          project_id: 'proj_a',
          key_id: 'key_1',
          end_user: null,
          deployment: 'gpt',
          provider: 'openai',
          model: 'gpt-4o',
          region: 'eastus',
          prompt_tokens: 10,
          cached_tokens: 0,
          completion_tokens: 5,
          images: 0,
          cost: 100,
          status: 200,
          latency_ms: 120,
          time_to_first_token_ms: null,
          streamed: 0,
          filtered: 0,
        };
        // A refused request beside it: an error the rollups learn of when upgraded to 0009.
        const refused = { ...row, request_id: 'req_old_refused', status: 500, prompt_tokens: 0, completion_tokens: 0, cost: 0 };
        await db
          .insertInto('usage_records')
          .values([row, refused] as Insertable<UsageRecordsTable>[])
          .execute();
        for (const [bucket, size] of [
          ['minute', 60_000],
          ['hour', 3_600_000],
          ['day', DAY],
        ] as const) {
          const rollup: Omit<Insertable<UsageRollupsTable>, 'api' | 'errors'> = {
            bucket,
            bucket_start: Math.floor(T0 / size) * size,
            project_id: 'proj_a',
            key_id: 'key_1',
            deployment: 'gpt',
            model: 'gpt-4o',
            organization_id: 'org_1',
            requests: 2,
            prompt_tokens: 10,
            cached_tokens: 0,
            completion_tokens: 5,
            cost: 100,
          };
          await db
            .insertInto('usage_rollups')
            .values(rollup as Insertable<UsageRollupsTable>)
            .execute();
        }
      } finally {
        await db.destroy();
      }

      const upgraded = await openStorage(old.url);
      try {
        expect(await upgraded.migrate()).toEqual({
          applied: [
            '0003_usage_api_and_responses',
            '0004_cache_write_price',
            '0005_usage_estimated',
            '0006_project_data_zone',
            '0007_usage_attempts',
            '0008_residency_pins',
            '0009_rollup_errors',
          ],
          current: '0009_rollup_errors',
        });
        expect((await upgraded.usage.get('req_old'))?.api).toBe('chat');
        // Before attempts were recorded: one attempt, its targets and errors unknown.
        expect(await upgraded.usage.get('req_old')).toMatchObject({ attempts: 1, targetsTried: [], attemptErrors: [] });
        // The same key but another API: a rollup row of its own beside the old one.
        const responses: UsageRecord = { ...(await upgraded.usage.get('req_old'))!, requestId: 'req_new', api: 'responses', cost: 7 };
        expect(await upgraded.usage.insertBatch([responses])).toBe(1);
        const expected = [
          { api: 'chat', requests: 2, promptTokens: 10, cachedTokens: 0, completionTokens: 5, cost: 100, errors: 1 },
          { api: 'responses', requests: 1, promptTokens: 10, cachedTokens: 0, completionTokens: 5, cost: 7, errors: 0 },
        ];
        // Errors (status 400 and up) from the raw records, and from the rollups: the old rows' count filled in from the records by 0009.
        expect(await upgraded.usage.query({}, ['api'])).toEqual(expected);
        for (const bucket of ['minute', 'hour', 'day'] as const) expect(await upgraded.usage.rollups(bucket, {}, ['api'])).toEqual(expected);
        expect(await upgraded.responses.get('proj_a', 'resp_none')).toBeUndefined();
      } finally {
        await upgraded.close();
      }
    } finally {
      await old.dispose();
    }
  });
});

describe('input item pages', () => {
  it('pages items without ids, with null cursors where an end item has none', () => {
    const mixed = [{ id: 'a' }, 'plain text', { role: 'user' }, { id: 'd' }];
    expect(pageOf(mixed, { order: 'asc', limit: 2 })).toEqual({ data: [{ id: 'a' }, 'plain text'], first_id: 'a', last_id: null, has_more: true });
    expect(pageOf(mixed, { after: 'd', limit: 2 })).toEqual({ data: [{ role: 'user' }, 'plain text'], first_id: null, last_id: null, has_more: true });
  });
});
