import type { Insertable, Kysely, Selectable } from 'kysely';
import type { InputItemListOptions, InputItemPage, ResponseRepository, StoredResponse } from '../storage.js';
import { toNumber, type Database, type ResponsesTable } from './database.js';

/** Rows per insert statement: 8 parameters each, well under SQLite's and PostgreSQL's limits. */
const ROWS_PER_STATEMENT = 500;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** Rows `findItem` reads at most: the item's own response is among the first that name it. */
const FIND_ITEM_ROWS = 10;

/**
 * Stored Responses API responses, one row each. The input items and the Response object are JSON
 * text on both databases: they are only ever read whole, never queried. Responses stored during
 * one turn of the event loop are written by one statement (a busy service finishes many at once:
 * one statement to build and prepare instead of one each), and each `put` resolves once its row is
 * in, so a caller told its response is done can retrieve it at once.
 */
export class KyselyResponseRepository implements ResponseRepository {
  protected readonly db: Kysely<Database>;
  /** Rows waiting for this turn's statement (the last put of an id wins, as one statement cannot upsert a row twice). */
  private pending = new Map<string, { row: Insertable<ResponsesTable>; waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> }>();
  private scheduled = false;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  put(record: StoredResponse): Promise<void> {
    return new Promise((resolve, reject) => {
      const row = toResponseRow(record);
      const waiting = this.pending.get(row.id);
      if (waiting) {
        waiting.row = row;
        waiting.waiters.push({ resolve, reject });
      } else {
        this.pending.set(row.id, { row, waiters: [{ resolve, reject }] });
      }
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.scheduled = false;
    try {
      for (let start = 0; start < batch.length; start += ROWS_PER_STATEMENT) await this.insert(batch.slice(start, start + ROWS_PER_STATEMENT));
      for (const entry of batch) for (const waiter of entry.waiters) waiter.resolve();
    } catch (error) {
      for (const entry of batch) for (const waiter of entry.waiters) waiter.reject(error);
    }
  }

  /** Writes one batch of rows (each id once), replacing a row of the same id. A dialect may override it with a faster statement. */
  protected async insert(batch: ReadonlyArray<{ row: Insertable<ResponsesTable> }>): Promise<void> {
    await this.db
      .insertInto('responses')
      .values(batch.map((entry) => entry.row))
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          project_id: eb.ref('excluded.project_id'),
          created_at: eb.ref('excluded.created_at'),
          model: eb.ref('excluded.model'),
          previous_response_id: eb.ref('excluded.previous_response_id'),
          input: eb.ref('excluded.input'),
          response: eb.ref('excluded.response'),
          status: eb.ref('excluded.status'),
        })),
      )
      .execute();
  }

  async get(projectId: string, id: string): Promise<StoredResponse | undefined> {
    const row = await this.db.selectFrom('responses').selectAll().where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    return row && toStoredResponse(row);
  }

  async delete(projectId: string, id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('responses').where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listInputItems(projectId: string, id: string, options: InputItemListOptions): Promise<InputItemPage | undefined> {
    // Only the input column: the Response object may be far larger and is not needed here.
    const row = await this.db.selectFrom('responses').select('input').where('id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    if (row === undefined) return undefined;
    return pageOf(JSON.parse(row.input) as unknown[], options);
  }

  async findItem(projectId: string, id: string): Promise<Record<string, unknown> | undefined> {
    // The items are JSON text, so the rows that name the id are found by text and each is checked
    // once parsed (LIKE's wildcards may let a few others through). The oldest rows come first: the
    // response that produced an item precedes every later one that refers to it.
    const named = `%${JSON.stringify(id)}%`;
    const rows = await this.db
      .selectFrom('responses')
      .select(['input', 'response'])
      .where('project_id', '=', projectId)
      .where((eb) => eb.or([eb('input', 'like', named), eb('response', 'like', named)]))
      .orderBy('created_at', 'asc')
      .limit(FIND_ITEM_ROWS)
      .execute();
    for (const row of rows) {
      const output = (JSON.parse(row.response) as { output?: unknown }).output;
      const items = [...(JSON.parse(row.input) as unknown[]), ...(Array.isArray(output) ? output : [])];
      const found = items.find((item) => itemId(item) === id && (item as { type?: unknown }).type !== 'item_reference');
      if (found) return found as Record<string, unknown>;
    }
    return undefined;
  }

  async prune(before: number): Promise<number> {
    const result = await this.db.deleteFrom('responses').where('created_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

/** An item's `id`, the cursor the list pages by; undefined for an item without one. */
function itemId(item: unknown): string | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const id = (item as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/**
 * One page of `items` with OpenAI's cursor semantics: the items listed in `order` (input order for
 * `asc`, reversed for `desc`), then only those after `after` and before `before` in that listing.
 * With `before` alone the page is the `limit` items just before it (the previous page), and
 * `has_more` tells whether more lie before the page; otherwise the page is the first `limit` items,
 * and `has_more` tells whether more follow it.
 */
export function pageOf(items: readonly unknown[], options: InputItemListOptions): InputItemPage {
  const requested = Math.trunc(options.limit ?? DEFAULT_LIMIT);
  const limit = Number.isNaN(requested) ? DEFAULT_LIMIT : Math.min(MAX_LIMIT, Math.max(1, requested));
  const listed = options.order === 'asc' ? [...items] : [...items].reverse();
  let start = 0;
  let end = listed.length;
  if (options.after !== undefined) {
    const index = listed.findIndex((item) => itemId(item) === options.after);
    // Nothing is known to follow an item that is not there.
    start = index === -1 ? listed.length : index + 1;
  }
  if (options.before !== undefined) {
    const index = listed.findIndex((item) => itemId(item) === options.before);
    end = index === -1 ? 0 : index;
  }
  const window = start < end ? listed.slice(start, end) : [];
  const backwards = options.before !== undefined && options.after === undefined;
  const data = backwards ? window.slice(Math.max(0, window.length - limit)) : window.slice(0, limit);
  return {
    data,
    first_id: data.length > 0 ? (itemId(data[0]) ?? null) : null,
    last_id: data.length > 0 ? (itemId(data[data.length - 1]) ?? null) : null,
    has_more: window.length > data.length,
  };
}

function toResponseRow(record: StoredResponse): Insertable<ResponsesTable> {
  return {
    id: record.id,
    project_id: record.projectId,
    created_at: record.createdAt,
    model: record.model,
    previous_response_id: record.previousResponseId,
    input: JSON.stringify(record.input),
    response: record.responseJson ?? JSON.stringify(record.response),
    status: record.status,
  };
}

function toStoredResponse(row: Selectable<ResponsesTable>): StoredResponse {
  return {
    id: row.id,
    projectId: row.project_id,
    createdAt: toNumber(row.created_at),
    model: row.model,
    previousResponseId: row.previous_response_id,
    input: JSON.parse(row.input) as unknown[],
    response: JSON.parse(row.response) as Record<string, unknown>,
    status: row.status,
  };
}
