import type { Kysely, Selectable } from 'kysely';
import type { Blocklist, BlocklistRepository, BlocklistTerm, BlocklistTermKind, BlocklistWithTerms } from '../storage.js';
import { toNumber, type BlocklistsTable, type BlocklistTermsTable, type Database } from './database.js';
import { chunksForStatement, type DialectTraits } from './dialect-traits.js';

export class KyselyBlocklistRepository implements BlocklistRepository {
  private readonly db: Kysely<Database>;
  private readonly traits: DialectTraits;
  constructor(db: Kysely<Database>, traits: DialectTraits) {
    this.db = db;
    this.traits = traits;
  }

  async create(list: Blocklist): Promise<void> {
    await this.db.insertInto('blocklists').values({ id: list.id, project_id: list.projectId, name: list.name, created_at: list.createdAt }).execute();
  }

  async get(id: string): Promise<Blocklist | undefined> {
    const row = await this.db.selectFrom('blocklists').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toBlocklist(row);
  }

  async list(projectId: string): Promise<Blocklist[]> {
    const rows = await this.db.selectFrom('blocklists').selectAll().where('project_id', '=', projectId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toBlocklist);
  }

  /** Terms first (they reference the list), in one transaction. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('blocklist_terms').where('blocklist_id', '=', id).execute();
      const result = await trx.deleteFrom('blocklists').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }

  async addTerm(term: BlocklistTerm): Promise<boolean> {
    const result = await this.db
      .insertInto('blocklist_terms')
      .values({ id: term.id, blocklist_id: term.blocklistId, kind: term.kind, value: term.value, created_at: term.createdAt })
      .onConflict((oc) => oc.columns(['blocklist_id', 'kind', 'value']).doNothing())
      .executeTakeFirst();
    return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  async removeTerm(blocklistId: string, termId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('blocklist_terms').where('blocklist_id', '=', blocklistId).where('id', '=', termId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listTerms(blocklistId: string): Promise<BlocklistTerm[]> {
    const rows = await this.db.selectFrom('blocklist_terms').selectAll().where('blocklist_id', '=', blocklistId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toTerm);
  }

  async allForProjects(projectIds?: readonly string[]): Promise<BlocklistWithTerms[]> {
    let lists: Array<Selectable<BlocklistsTable>> = [];
    if (projectIds === undefined) {
      lists = await this.db.selectFrom('blocklists').selectAll().orderBy('project_id').orderBy('created_at').orderBy('id').execute();
    } else {
      for (const chunk of chunksForStatement(this.traits, [...new Set(projectIds)], 1)) {
        if (chunk.length === 0) continue;
        lists.push(...(await this.db.selectFrom('blocklists').selectAll().where('project_id', 'in', chunk).execute()));
      }
      lists.sort((a, b) => compare(a.project_id, b.project_id) || toNumber(a.created_at) - toNumber(b.created_at) || compare(a.id, b.id));
    }
    if (lists.length === 0) return [];
    const byList = new Map<string, BlocklistWithTerms>(lists.map((row) => [row.id, { ...toBlocklist(row), terms: [] }]));
    const termRows: Array<Selectable<BlocklistTermsTable>> = [];
    if (projectIds === undefined) {
      termRows.push(...(await this.db.selectFrom('blocklist_terms').selectAll().orderBy('created_at').orderBy('id').execute()));
    } else {
      for (const chunk of chunksForStatement(this.traits, [...byList.keys()], 1)) {
        termRows.push(...(await this.db.selectFrom('blocklist_terms').selectAll().where('blocklist_id', 'in', chunk).execute()));
      }
      termRows.sort((a, b) => toNumber(a.created_at) - toNumber(b.created_at) || compare(a.id, b.id));
    }
    for (const row of termRows) byList.get(row.blocklist_id)?.terms.push(toTerm(row));
    return [...byList.values()];
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toBlocklist(row: Selectable<BlocklistsTable>): Blocklist {
  return { id: row.id, projectId: row.project_id, name: row.name, createdAt: toNumber(row.created_at) };
}

function toTerm(row: Selectable<BlocklistTermsTable>): BlocklistTerm {
  return { id: row.id, blocklistId: row.blocklist_id, kind: row.kind as BlocklistTermKind, value: row.value, createdAt: toNumber(row.created_at) };
}
