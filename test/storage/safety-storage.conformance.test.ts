import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrateToLatest } from '../../src/storage/kysely/migrations.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { POSTGRES_TRAITS } from '../../src/storage/postgres/postgres-storage.js';
import { SQLITE_TRAITS } from '../../src/storage/sqlite/sqlite-storage.js';
import type { AbuseEventInput, AbuseSample, Storage } from '../../src/storage/storage.js';
import { keyRecord, placesFor, T0, type Place } from './storage-test-support.js';
import { postgresAvailable } from '../helpers/services.js';

/**
 * Conformance of the content-safety repositories (0002_content_safety): blocklists, per-project
 * filter policies, the abuse review queue and samples, and key suspension. Same dialect setup as
 * storage.conformance.test.ts: a fresh SQLite file or PostgreSQL schema per test, never skipped.
 */

const DAY = 86_400_000;

const PLACES = placesFor('safety-storage');

function event(overrides: Partial<AbuseEventInput> = {}): AbuseEventInput {
  return {
    id: `rev_${randomBytes(4).toString('hex')}`,
    subjectType: 'key',
    subjectId: 'key_1',
    projectId: 'proj_a',
    organizationId: 'org_1',
    reason: '10 flagged requests in 15 minutes',
    events: 10,
    at: T0,
    ...overrides,
  };
}

function sample(id: string, overrides: Partial<AbuseSample> = {}): AbuseSample {
  return {
    id,
    reviewId: 'rev_1',
    requestId: `req_${id}`,
    projectId: 'proj_a',
    organizationId: 'org_1',
    subjectType: 'key',
    subjectId: 'key_1',
    direction: 'prompt',
    text: 'offending text',
    categories: [{ category: 'hate', severity: 'high', filtered: true }],
    at: T0,
    ...overrides,
  };
}

describe.each(postgresAvailable ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const))('content-safety storage on %s', (dialect) => {
  let place: Place;
  let storage: Storage;

  beforeEach(async () => {
    place = await PLACES[dialect]();
    storage = await openStorage(place.url);
    await storage.migrate();
    await storage.organizations.create({ id: 'org_1', name: 'Org', createdAt: T0 });
    for (const id of ['proj_a', 'proj_b']) {
      await storage.projects.create({ id, organizationId: 'org_1', name: id, keyAuthEnabled: true, dataZone: null, regions: null, createdAt: T0 });
    }
  });

  afterEach(async () => {
    await storage.close();
    await place.dispose();
  });

  describe('key suspension', () => {
    it('suspends once, keeps suspended keys in listActive, and lifts the suspension', async () => {
      await storage.keys.create(keyRecord('key_1'));
      await storage.keys.create(keyRecord('key_2'));
      expect((await storage.keys.get('key_1'))?.suspendedAt).toBeNull();

      expect((await storage.keys.suspend('key_1', T0 + 5))?.suspendedAt).toBe(T0 + 5);
      expect((await storage.keys.suspend('key_1', T0 + 9))?.suspendedAt).toBe(T0 + 5);
      expect(await storage.keys.suspend('key_missing', T0)).toBeUndefined();

      const active = await storage.keys.listActive(T0);
      expect(active.map((key) => [key.id, key.suspendedAt])).toEqual([
        ['key_1', T0 + 5],
        ['key_2', null],
      ]);
      expect((await storage.keys.findByHash(keyRecord('key_1').hash))?.suspendedAt).toBe(T0 + 5);

      expect((await storage.keys.unsuspend('key_1'))?.suspendedAt).toBeNull();
      expect((await storage.keys.unsuspend('key_1'))?.suspendedAt).toBeNull();
      expect(await storage.keys.unsuspend('key_missing')).toBeUndefined();
    });

    it('creates keys suspended when asked, and revocation still hides them from listActive', async () => {
      await storage.keys.create(keyRecord('key_s', 'proj_a', { suspendedAt: T0 }));
      expect((await storage.keys.get('key_s'))?.suspendedAt).toBe(T0);
      await storage.keys.revoke('key_s', T0 + 1);
      expect(await storage.keys.listActive(T0 + 2)).toEqual([]);
    });
  });

  describe('blocklists', () => {
    it('creates, gets, lists per project and deletes lists with their terms', async () => {
      await storage.blocklists.create({ id: 'bl_2', projectId: 'proj_a', name: 'Second', createdAt: T0 + 1 });
      await storage.blocklists.create({ id: 'bl_1', projectId: 'proj_a', name: 'First', createdAt: T0 });
      await storage.blocklists.create({ id: 'bl_b', projectId: 'proj_b', name: 'Other', createdAt: T0 });
      expect(await storage.blocklists.get('bl_1')).toEqual({ id: 'bl_1', projectId: 'proj_a', name: 'First', createdAt: T0 });
      expect(await storage.blocklists.get('bl_missing')).toBeUndefined();
      expect((await storage.blocklists.list('proj_a')).map((list) => list.id)).toEqual(['bl_1', 'bl_2']);
      await expect(storage.blocklists.create({ id: 'bl_1', projectId: 'proj_a', name: 'Again', createdAt: T0 })).rejects.toThrow();

      await storage.blocklists.addTerm({ id: 't_1', blocklistId: 'bl_1', kind: 'exact', value: 'secret project', createdAt: T0 });
      expect(await storage.blocklists.delete('bl_1')).toBe(true);
      expect(await storage.blocklists.delete('bl_1')).toBe(false);
      expect(await storage.blocklists.listTerms('bl_1')).toEqual([]);
      expect((await storage.blocklists.list('proj_a')).map((list) => list.id)).toEqual(['bl_2']);
    });

    it('adds terms once per kind and value, lists and removes them', async () => {
      await storage.blocklists.create({ id: 'bl_1', projectId: 'proj_a', name: 'Words', createdAt: T0 });
      expect(await storage.blocklists.addTerm({ id: 't_1', blocklistId: 'bl_1', kind: 'exact', value: 'foo', createdAt: T0 })).toBe(true);
      expect(await storage.blocklists.addTerm({ id: 't_2', blocklistId: 'bl_1', kind: 'regex', value: 'foo', createdAt: T0 + 1 })).toBe(true);
      expect(await storage.blocklists.addTerm({ id: 't_3', blocklistId: 'bl_1', kind: 'exact', value: 'foo', createdAt: T0 + 2 })).toBe(false);
      expect(await storage.blocklists.listTerms('bl_1')).toEqual([
        { id: 't_1', blocklistId: 'bl_1', kind: 'exact', value: 'foo', createdAt: T0 },
        { id: 't_2', blocklistId: 'bl_1', kind: 'regex', value: 'foo', createdAt: T0 + 1 },
      ]);
      // Terms need an existing list (foreign keys are on).
      await expect(storage.blocklists.addTerm({ id: 't_4', blocklistId: 'bl_missing', kind: 'exact', value: 'x', createdAt: T0 })).rejects.toThrow();
      expect(await storage.blocklists.removeTerm('bl_other', 't_1')).toBe(false);
      expect(await storage.blocklists.removeTerm('bl_1', 't_1')).toBe(true);
      expect(await storage.blocklists.removeTerm('bl_1', 't_1')).toBe(false);
      expect((await storage.blocklists.listTerms('bl_1')).map((term) => term.id)).toEqual(['t_2']);
    });

    it('loads lists with their terms for every project or for some', async () => {
      await storage.blocklists.create({ id: 'bl_a', projectId: 'proj_a', name: 'A', createdAt: T0 });
      await storage.blocklists.create({ id: 'bl_empty', projectId: 'proj_a', name: 'Empty', createdAt: T0 + 1 });
      await storage.blocklists.create({ id: 'bl_b', projectId: 'proj_b', name: 'B', createdAt: T0 });
      await storage.blocklists.addTerm({ id: 't_a2', blocklistId: 'bl_a', kind: 'regex', value: 'b[a-z]+', createdAt: T0 + 1 });
      await storage.blocklists.addTerm({ id: 't_a1', blocklistId: 'bl_a', kind: 'exact', value: 'alpha', createdAt: T0 });
      await storage.blocklists.addTerm({ id: 't_b1', blocklistId: 'bl_b', kind: 'exact', value: 'beta', createdAt: T0 });

      const all = await storage.blocklists.allForProjects();
      expect(all.map((list) => [list.id, list.terms.map((term) => term.value)])).toEqual([
        ['bl_a', ['alpha', 'b[a-z]+']],
        ['bl_empty', []],
        ['bl_b', ['beta']],
      ]);
      const some = await storage.blocklists.allForProjects(['proj_b', 'proj_missing']);
      expect(some).toEqual([
        {
          id: 'bl_b',
          projectId: 'proj_b',
          name: 'B',
          createdAt: T0,
          terms: [{ id: 't_b1', blocklistId: 'bl_b', kind: 'exact', value: 'beta', createdAt: T0 }],
        },
      ]);
      expect(await storage.blocklists.allForProjects([])).toEqual([]);
    });
  });

  describe('project deletion', () => {
    it("removes the project's blocklists, their terms and its filter policies", async () => {
      await storage.blocklists.create({ id: 'bl_gone', projectId: 'proj_a', name: 'gone', createdAt: T0 });
      await storage.blocklists.addTerm({ id: 't_gone', blocklistId: 'bl_gone', kind: 'exact', value: 'x', createdAt: T0 });
      await storage.safetySettings.setPolicy({ projectId: 'proj_a', deployment: '*', policy: 'strict', updatedAt: T0 });
      await storage.safetySettings.setPolicy({ projectId: 'proj_b', deployment: '*', policy: 'strict', updatedAt: T0 });
      expect(await storage.projects.delete('proj_a')).toBe(true);
      expect(await storage.blocklists.list('proj_a')).toEqual([]);
      expect(await storage.blocklists.get('bl_gone')).toBeUndefined();
      expect((await storage.safetySettings.list()).map((policy) => policy.projectId)).toEqual(['proj_b']);
    });
  });

  describe('project filter policies', () => {
    it('sets (replacing), lists and removes policies per project and deployment', async () => {
      await storage.safetySettings.setPolicy({ projectId: 'proj_a', deployment: '*', policy: 'default', updatedAt: T0 });
      await storage.safetySettings.setPolicy({ projectId: 'proj_a', deployment: 'gpt', policy: 'strict', updatedAt: T0 });
      await storage.safetySettings.setPolicy({ projectId: 'proj_b', deployment: 'gpt', policy: 'strict', updatedAt: T0 });
      await storage.safetySettings.setPolicy({ projectId: 'proj_a', deployment: 'gpt', policy: 'lenient', updatedAt: T0 + 1 });
      expect(await storage.safetySettings.list('proj_a')).toEqual([
        { projectId: 'proj_a', deployment: '*', policy: 'default', updatedAt: T0 },
        { projectId: 'proj_a', deployment: 'gpt', policy: 'lenient', updatedAt: T0 + 1 },
      ]);
      expect(await storage.safetySettings.list()).toHaveLength(3);
      expect(await storage.safetySettings.removePolicy('proj_a', 'gpt')).toBe(true);
      expect(await storage.safetySettings.removePolicy('proj_a', 'gpt')).toBe(false);
      expect((await storage.safetySettings.list('proj_a')).map((policy) => policy.deployment)).toEqual(['*']);
    });
  });

  describe('abuse reviews', () => {
    it('opens a review for a subject and adds later events to it while it is active', async () => {
      const first = await storage.abuse.record(event({ id: 'rev_1', events: 10, at: T0 }));
      expect(first.opened).toBe(true);
      expect(first.review).toEqual({
        id: 'rev_1',
        subjectType: 'key',
        subjectId: 'key_1',
        projectId: 'proj_a',
        organizationId: 'org_1',
        status: 'open',
        reason: '10 flagged requests in 15 minutes',
        events: 10,
        firstAt: T0,
        lastAt: T0,
        decidedBy: null,
        decidedAt: null,
      });
      expect(await storage.abuse.get('rev_1')).toEqual(first.review);

      const second = await storage.abuse.record(event({ id: 'rev_ignored', events: 1, at: T0 + 60_000, reason: 'blocked 5 times' }));
      expect(second.opened).toBe(false);
      expect(second.review).toMatchObject({ id: 'rev_1', events: 11, firstAt: T0, lastAt: T0 + 60_000, reason: 'blocked 5 times' });
      // An event reported late does not move lastAt back.
      expect((await storage.abuse.record(event({ events: 1, at: T0 + 1 }))).review).toMatchObject({ id: 'rev_1', events: 12, lastAt: T0 + 60_000 });

      // The same subject id in another project, or another subject type, is another subject.
      expect((await storage.abuse.record(event({ id: 'rev_2', projectId: 'proj_b' }))).opened).toBe(true);
      expect((await storage.abuse.record(event({ id: 'rev_3', subjectType: 'end_user' }))).opened).toBe(true);
      expect((await storage.abuse.findActive('key', 'key_1', 'proj_a'))?.id).toBe('rev_1');
      expect(await storage.abuse.findActive('key', 'key_9', 'proj_a')).toBeUndefined();
    });

    it('keeps adding to a suspended review; after dismissal or reinstatement a new review opens', async () => {
      await storage.abuse.record(event({ id: 'rev_1' }));
      const suspended = await storage.abuse.updateStatus('rev_1', { status: 'suspended', decidedBy: 'system', decidedAt: T0 + 5, reason: 'repeated' });
      expect(suspended).toMatchObject({ status: 'suspended', decidedBy: 'system', decidedAt: T0 + 5, reason: 'repeated' });
      expect((await storage.abuse.record(event({ id: 'rev_x', events: 2 }))).review).toMatchObject({ id: 'rev_1', events: 12 });

      expect(await storage.abuse.updateStatus('rev_1', { status: 'reinstated', decidedBy: 'master', decidedAt: T0 + 9 })).toMatchObject({
        status: 'reinstated',
        decidedBy: 'master',
        // The event recorded after the suspension set the latest reason.
        reason: '10 flagged requests in 15 minutes',
      });
      expect(await storage.abuse.findActive('key', 'key_1', 'proj_a')).toBeUndefined();
      const again = await storage.abuse.record(event({ id: 'rev_2', at: T0 + 10 }));
      expect(again).toMatchObject({ opened: true, review: { id: 'rev_2', status: 'open' } });
      await storage.abuse.updateStatus('rev_2', { status: 'dismissed', decidedBy: 'master', decidedAt: T0 + 11 });
      expect((await storage.abuse.record(event({ id: 'rev_3', at: T0 + 12 }))).opened).toBe(true);
      expect(await storage.abuse.updateStatus('rev_missing', { status: 'dismissed', decidedBy: 'master', decidedAt: T0 })).toBeUndefined();
    });

    it('never has two active reviews for one subject, even when opened at once', async () => {
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => storage.abuse.record(event({ id: `rev_${i}`, events: 1 }))));
      expect(results.filter((result) => result.opened)).toHaveLength(1);
      const reviews = await storage.abuse.list({ subjectId: 'key_1' });
      expect(reviews).toHaveLength(1);
      expect(reviews[0].events).toBe(8);
    });

    it('lists reviews newest first with filters and a limit', async () => {
      await storage.abuse.record(event({ id: 'rev_1', subjectId: 'key_1', at: T0 }));
      await storage.abuse.record(event({ id: 'rev_2', subjectId: 'key_2', at: T0 + 2 }));
      await storage.abuse.record(event({ id: 'rev_3', subjectType: 'project', subjectId: 'proj_b', projectId: 'proj_b', at: T0 + 1 }));
      await storage.abuse.record(event({ id: 'rev_4', subjectType: 'end_user', subjectId: 'alice', organizationId: 'org_2', at: T0 + 3 }));
      await storage.abuse.updateStatus('rev_2', { status: 'dismissed', decidedBy: 'master', decidedAt: T0 + 4 });

      expect((await storage.abuse.list()).map((review) => review.id)).toEqual(['rev_4', 'rev_2', 'rev_3', 'rev_1']);
      expect((await storage.abuse.list({ status: 'open' })).map((review) => review.id)).toEqual(['rev_4', 'rev_3', 'rev_1']);
      expect((await storage.abuse.list({ projectId: 'proj_a' })).map((review) => review.id)).toEqual(['rev_4', 'rev_2', 'rev_1']);
      expect((await storage.abuse.list({ organizationId: 'org_2' })).map((review) => review.id)).toEqual(['rev_4']);
      expect((await storage.abuse.list({ subjectType: 'key', status: 'open' })).map((review) => review.id)).toEqual(['rev_1']);
      expect((await storage.abuse.list({ limit: 2 })).map((review) => review.id)).toEqual(['rev_4', 'rev_2']);
    });
  });

  describe('abuse samples', () => {
    it('stores samples with categories, cuts text to 2,000 characters, lists per review newest first', async () => {
      await storage.abuse.addSample(sample('s_1', { at: T0 }));
      await storage.abuse.addSample(sample('s_2', { at: T0 + 1, direction: 'completion', text: 'x'.repeat(5_000), categories: [] }));
      await storage.abuse.addSample(sample('s_3', { reviewId: 'rev_2' }));
      await storage.abuse.addSample(sample('s_4', { reviewId: null }));
      // A surrogate pair straddling the limit is dropped whole rather than split.
      await storage.abuse.addSample(sample('s_5', { reviewId: 'rev_3', text: `${'y'.repeat(1_999)}😀tail` }));

      const samples = await storage.abuse.listSamples('rev_1');
      expect(samples.map((s) => s.id)).toEqual(['s_2', 's_1']);
      expect(samples[1]).toEqual(sample('s_1', { at: T0 }));
      expect(samples[0].text).toHaveLength(2_000);
      expect(samples[0].categories).toEqual([]);
      expect(await storage.abuse.listSamples('rev_1', 1)).toHaveLength(1);
      expect((await storage.abuse.listSamples('rev_3'))[0].text).toBe('y'.repeat(1_999));
    });

    it('prunes samples older than a time', async () => {
      await storage.abuse.addSample(sample('s_old', { at: T0 - 31 * DAY }));
      await storage.abuse.addSample(sample('s_edge', { at: T0 - 30 * DAY }));
      await storage.abuse.addSample(sample('s_new', { at: T0 }));
      expect(await storage.abuse.pruneSamples(T0 - 30 * DAY)).toBe(1);
      expect((await storage.abuse.listSamples('rev_1')).map((s) => s.id)).toEqual(['s_new', 's_edge']);
      expect(await storage.abuse.pruneSamples(T0 + 1)).toBe(2);
      expect(await storage.abuse.pruneSamples(T0 + 1)).toBe(0);
    });
  });

  it('upgrades a database that has only the initial migration, keeping its keys unsuspended', async () => {
    // Another place, migrated by hand to 0001 only: a database from before content safety.
    const old = await PLACES[dialect]();
    try {
      const db = old.kysely();
      try {
        if (dialect === 'postgres') await db.schema.createSchema(new URL(old.url).searchParams.get('schema')!).ifNotExists().execute();
        const traits = dialect === 'sqlite' ? SQLITE_TRAITS : POSTGRES_TRAITS;
        expect(await migrateToLatest(db, traits, MIGRATIONS.slice(0, 1))).toEqual({ applied: ['0001_initial'], current: '0001_initial' });
        await db.insertInto('organizations').values({ id: 'org_1', name: 'Org', created_at: T0 }).execute();
        await db.insertInto('projects').values({ id: 'proj_a', organization_id: 'org_1', name: 'A', key_auth_enabled: 1, created_at: T0 }).execute();
        const { suspendedAt: _none, ...key } = keyRecord('key_old');
        await db
          .insertInto('api_keys')
          .values({
            id: key.id,
            project_id: key.projectId,
            name: key.name,
            prefix: key.prefix,
            hash: key.hash,
            deployments: null,
            expires_at: null,
            revoked_at: null,
            created_at: key.createdAt,
            last_used_at: null,
            created_by: null,
          })
          .execute();
      } finally {
        await db.destroy();
      }
      const upgraded = await openStorage(old.url);
      try {
        expect(await upgraded.migrate()).toEqual({
          applied: [
            '0002_content_safety',
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
        expect((await upgraded.keys.get('key_old'))?.suspendedAt).toBeNull();
        // A key from before residency pins follows its project's pin (none of its own).
        expect(await upgraded.keys.get('key_old')).toMatchObject({ dataZone: null, regions: null });
        expect((await upgraded.keys.listActive(T0)).map((k) => k.id)).toEqual(['key_old']);
        expect(await upgraded.blocklists.list('proj_a')).toEqual([]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await old.dispose();
    }
  });
});
