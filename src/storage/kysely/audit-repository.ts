import type { Kysely, Selectable } from 'kysely';
import type { AuditEntry, AuditHead, AuditHeadReference, AuditInput, AuditProblem, AuditRepository, AuditVerification } from '../storage.js';
import { auditHash, fromAuditJson, shortHash, toAuditJson, type AuditContent } from './audit-chain.js';
import { toNumber, type AuditLogTable, type Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';
import { ZERO_HASH } from './migrations.js';

const DEFAULT_LIST_LIMIT = 100;
const VERIFY_PAGE = 1_000;
/** How many recent chain entries verify remembers to recognise forks. */
const RECENT_CHAIN = 1_000;

interface ChainLink {
  readonly seq: number;
  readonly hash: string;
}

export type AuditListFilter = Parameters<AuditRepository['list']>[0];

/**
 * The tamper-evident audit log. Each entry stores the previous entry's hash and its own
 * (see `audit-chain.ts`); `audit_anchor` holds the seq and hash the chain starts from (seq 0 and
 * 64 zeros until the first prune). Appends and prunes take the dialect's audit lock first, so the
 * chain stays linear with any number of processes writing.
 *
 * Limits, stated plainly: the chain proves entries were not edited, inserted or removed in the
 * middle; removing the newest entries (tail truncation) or rewriting the whole chain from some point
 * on is only detectable against a head kept elsewhere: `head()` gives it, `verify({ head })` checks
 * the chain still reaches it.
 */
export class KyselyAuditRepository implements AuditRepository {
  private readonly db: Kysely<Database>;
  private readonly traits: DialectTraits;
  constructor(db: Kysely<Database>, traits: DialectTraits) {
    this.db = db;
    this.traits = traits;
  }

  /**
   * The database assigns seq (the row is inserted first, with empty hashes), then the entry is
   * linked to the entry just below it, or to the anchor, and its hash filled in, all under the
   * audit lock in one transaction; nobody ever observes the empty hashes.
   */
  async append(entry: AuditInput): Promise<AuditEntry> {
    return this.db.transaction().execute(async (trx) => {
      await this.traits.lockAuditChain(trx);
      const before = toAuditJson(entry.before);
      const after = toAuditJson(entry.after);
      const inserted = await trx
        .insertInto('audit_log')
        .values({
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          target: entry.target,
          organization_id: entry.organizationId,
          project_id: entry.projectId,
          before,
          after,
          source: entry.source,
          prev_hash: '',
          hash: '',
        })
        .returning('seq')
        .executeTakeFirstOrThrow();
      const seq = toNumber(inserted.seq);
      const previous = await trx.selectFrom('audit_log').select('hash').where('seq', '<', seq).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const prevHash = previous?.hash ?? (await readAnchor(trx)).hash;
      const content: AuditContent = {
        seq,
        at: entry.at,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        organizationId: entry.organizationId,
        projectId: entry.projectId,
        before: fromAuditJson(before),
        after: fromAuditJson(after),
        source: entry.source,
      };
      const hash = auditHash(prevHash, content);
      await trx.updateTable('audit_log').set({ prev_hash: prevHash, hash }).where('seq', '=', seq).execute();
      return { ...content, prevHash, hash };
    });
  }

  /** Entries in seq order; `from` inclusive, `to` exclusive on `at`; `afterSeq` pages; 100 by default. */
  async list(filter: AuditListFilter): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (filter.organizationId !== undefined) query = query.where('organization_id', '=', filter.organizationId);
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.actor !== undefined) query = query.where('actor', '=', filter.actor);
    if (filter.action !== undefined) query = query.where('action', '=', filter.action);
    if (filter.target !== undefined) query = query.where('target', '=', filter.target);
    if (filter.from !== undefined) query = query.where('at', '>=', filter.from);
    if (filter.to !== undefined) query = query.where('at', '<', filter.to);
    if (filter.afterSeq !== undefined) query = query.where('seq', '>', filter.afterSeq);
    const rows = await query
      .orderBy('seq')
      .limit(filter.limit ?? DEFAULT_LIST_LIMIT)
      .execute();
    return rows.map(toAuditEntry);
  }

  async head(): Promise<AuditHead> {
    const newest = await this.db.selectFrom('audit_log').select(['seq', 'hash', 'at']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (newest !== undefined) return { seq: toNumber(newest.seq), hash: newest.hash, at: toNumber(newest.at) };
    const anchor = await readAnchor(this.db);
    return { seq: anchor.seq, hash: anchor.hash, at: null };
  }

  /**
   * Walks the log in seq order from the anchor, following the chain: an entry whose prevHash is the
   * hash of the chain head so far joins the chain. Independently, an entry whose stored hash differs
   * from the recomputed one is `edited` (its content changed after it was written). An entry that
   * does not link to the head is judged, first match wins:
   * 1. a later entry continues the chain from the head or a recent chain entry: this one is
   *    `inserted` (it sits beside the chain, not in it);
   * 2. it links to a recent chain entry A instead of the head, so the log forks at A: if its branch
   *    continues, the chain entries after A were `inserted`, else it is (ties keep the older branch);
   * 3. seqs are missing since the head: `deleted`, naming the range;
   * 4. it is the last entry: `inserted` (appended outside the chain);
   * 5. otherwise `broken-link` (the head or this entry was rewritten and re-hashed).
   * In cases 3 and 5 the walk goes on from this entry, so later damage is reported on its own.
   * Rows at or below the anchor's seq were pruned, so one found there is `inserted`. A seq gap whose
   * link is intact is fine: PostgreSQL sequences skip values when an append rolls back. Forks are
   * recognised within the last {@link RECENT_CHAIN} chain entries; older ones read as broken links.
   * With `head`, the walk must also accept that entry (or start from it, the anchor) with that hash.
   */
  async verify(options: { head?: AuditHeadReference } = {}): Promise<AuditVerification> {
    const anchor = await readAnchor(this.db);
    const problems: AuditProblem[] = [];
    const describe = (link: ChainLink): string => (link.seq === anchor.seq ? `the chain start (seq ${anchor.seq})` : `entry ${link.seq}`);
    const expected = options.head;
    const matches = (link: ChainLink): boolean =>
      expected !== undefined && link.hash === expected.hash && (expected.seq === undefined || link.seq === expected.seq);
    let headFound = matches({ seq: anchor.seq, hash: anchor.hash });
    /** The chain's most recent entries, oldest first; the last one is the head. */
    let chain: ChainLink[] = [{ seq: anchor.seq, hash: anchor.hash }];
    const accept = (entry: AuditEntry): void => {
      if (matches(entry)) headFound = true;
      chain.push({ seq: entry.seq, hash: entry.hash });
      if (chain.length > RECENT_CHAIN) chain = chain.slice(-RECENT_CHAIN);
    };
    let checked = 0;
    // From the very start, not from the anchor: a row forged below the anchor must show up too.
    const cursor = new AuditCursor(this.db, Number.MIN_SAFE_INTEGER);
    for (let entry = await cursor.next(); entry !== undefined; entry = await cursor.next()) {
      checked += 1;
      const { seq } = entry;
      if (seq <= anchor.seq) {
        problems.push({ seq, problem: 'inserted', detail: `entry ${seq} lies before the chain start (seq ${anchor.seq}), where entries were pruned` });
        continue;
      }
      if (auditHash(entry.prevHash, entry) !== entry.hash) {
        problems.push({
          seq,
          problem: 'edited',
          detail: `entry ${seq} (${entry.action} on ${entry.target}) does not match its stored hash: its content was changed after it was written`,
        });
      }
      const head = chain[chain.length - 1];
      if (entry.prevHash === head.hash) {
        accept(entry);
        continue;
      }
      const continuation = await this.firstLinkAfter(
        seq,
        chain.map((link) => link.hash),
      );
      if (continuation !== undefined) {
        const from = chain.find((link) => link.hash === continuation.prevHash);
        problems.push({
          seq,
          problem: 'inserted',
          detail: `entry ${seq} is not part of the chain: entry ${continuation.seq} continues it from ${from ? describe(from) : 'an earlier entry'}`,
        });
        continue;
      }
      const fork = chain.findIndex((link) => link.hash === entry.prevHash);
      if (fork >= 0) {
        const base = chain[fork];
        if ((await this.firstLinkAfter(seq, [entry.hash])) !== undefined) {
          for (const dead of chain.slice(fork + 1)) {
            problems.push({
              seq: dead.seq,
              problem: 'inserted',
              detail: `entry ${dead.seq} is not part of the chain: entry ${seq} links past it to ${describe(base)}`,
            });
          }
          chain = chain.slice(0, fork + 1);
          accept(entry);
        } else {
          problems.push({
            seq,
            problem: 'inserted',
            detail: `entry ${seq} forks the chain at ${describe(base)}, which entry ${chain[fork + 1].seq} already follows`,
          });
        }
        continue;
      }
      if (seq > head.seq + 1) {
        const missing = seq - 1 === head.seq + 1 ? `entry ${seq - 1} is` : `entries ${head.seq + 1}–${seq - 1} are`;
        problems.push({ seq, problem: 'deleted', detail: `${missing} missing: entry ${seq} links to ${shortHash(entry.prevHash)}…, not to ${describe(head)}` });
      } else if ((await cursor.peek()) === undefined) {
        problems.push({
          seq,
          problem: 'inserted',
          detail: `entry ${seq} does not link to ${describe(head)}: it was appended outside the chain (or ${describe(head)} was rewritten)`,
        });
      } else {
        problems.push({ seq, problem: 'broken-link', detail: `entry ${seq} does not link to ${describe(head)}: one of the two was rewritten and re-hashed` });
      }
      accept(entry);
    }
    if (expected !== undefined && !headFound) problems.push(await this.headMismatch(expected, anchor, chain[chain.length - 1]));
    return { ok: problems.length === 0, checked, problems };
  }

  /** Why the exported head is not in the chain: pruned, cut off with the newest entries, or re-hashed. */
  private async headMismatch(expected: AuditHeadReference, anchor: ChainLink, last: ChainLink): Promise<AuditProblem> {
    const given = `the exported head (${expected.seq === undefined ? '' : `entry ${expected.seq}, `}hash ${shortHash(expected.hash)}…)`;
    if (expected.seq === undefined) {
      return {
        seq: last.seq,
        problem: 'head-mismatch',
        detail: `no entry of the chain has ${given}: the newest entries were cut off, or the chain was rewritten and re-hashed (give SEQ:HASH to tell which)`,
      };
    }
    const { seq } = expected;
    if (seq < anchor.seq) {
      return {
        seq,
        problem: 'head-mismatch',
        detail: `${given} was pruned (the chain now starts after entry ${anchor.seq}), so it cannot be checked: verify against a newer head`,
      };
    }
    const row = seq === anchor.seq ? anchor : await this.db.selectFrom('audit_log').select(['seq', 'hash']).where('seq', '=', seq).executeTakeFirst();
    if (row === undefined) {
      return {
        seq,
        problem: 'head-mismatch',
        detail:
          seq > last.seq ? `${given} is missing: the log ends at entry ${last.seq}, so the newest entries were cut off` : `${given} is missing: it was deleted`,
      };
    }
    if (row.hash === expected.hash) {
      return { seq, problem: 'head-mismatch', detail: `entry ${seq} has the exported head's hash but is no longer part of the chain (see the problems above)` };
    }
    return {
      seq,
      problem: 'head-mismatch',
      detail: `entry ${seq} is not the exported head: its hash is ${shortHash(row.hash)}…, not ${shortHash(expected.hash)}…, so the chain was rewritten up to it and re-hashed`,
    };
  }

  /** The first entry after `seq` whose prevHash is one of `hashes`: only asked when the chain is damaged. */
  private async firstLinkAfter(seq: number, hashes: readonly string[]): Promise<{ seq: number; prevHash: string } | undefined> {
    const row = await this.db
      .selectFrom('audit_log')
      .select(['seq', 'prev_hash'])
      .where('seq', '>', seq)
      .where('prev_hash', 'in', hashes)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    return row && { seq: toNumber(row.seq), prevHash: row.prev_hash };
  }

  /**
   * Deletes the oldest entries, those with `at` < `before`, and moves the anchor to the last one
   * deleted so verify starts from there. Only a prefix of the chain can go: if an entry with an
   * earlier `at` follows a later one in seq order, pruning stops at the first entry to keep.
   */
  async prune(before: number): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      await this.traits.lockAuditChain(trx);
      const firstKept = await trx.selectFrom('audit_log').select('seq').where('at', '>=', before).orderBy('seq').limit(1).executeTakeFirst();
      let lastPruned = trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1);
      if (firstKept !== undefined) lastPruned = lastPruned.where('seq', '<', toNumber(firstKept.seq));
      const last = await lastPruned.executeTakeFirst();
      if (last === undefined) return 0;
      const seq = toNumber(last.seq);
      const result = await trx.deleteFrom('audit_log').where('seq', '<=', seq).executeTakeFirst();
      await trx.updateTable('audit_anchor').set({ seq, hash: last.hash }).where('id', '=', 1).execute();
      return Number(result.numDeletedRows);
    });
  }
}

async function readAnchor(db: Kysely<Database>): Promise<{ seq: number; hash: string }> {
  const row = await db.selectFrom('audit_anchor').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirst();
  return row === undefined ? { seq: 0, hash: ZERO_HASH } : { seq: toNumber(row.seq), hash: row.hash };
}

function toAuditEntry(row: Selectable<AuditLogTable>): AuditEntry {
  return {
    seq: toNumber(row.seq),
    at: toNumber(row.at),
    actor: row.actor,
    action: row.action,
    target: row.target,
    organizationId: row.organization_id,
    projectId: row.project_id,
    before: fromAuditJson(row.before),
    after: fromAuditJson(row.after),
    source: row.source,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Reads the log in seq order a page at a time, with one entry of look-ahead. */
class AuditCursor {
  private readonly db: Kysely<Database>;
  private afterSeq: number;
  private buffer: AuditEntry[] = [];
  private exhausted = false;

  constructor(db: Kysely<Database>, afterSeq: number) {
    this.db = db;
    this.afterSeq = afterSeq;
  }

  async next(): Promise<AuditEntry | undefined> {
    await this.fill();
    return this.buffer.shift();
  }

  async peek(): Promise<AuditEntry | undefined> {
    await this.fill();
    return this.buffer[0];
  }

  private async fill(): Promise<void> {
    if (this.buffer.length > 0 || this.exhausted) return;
    const rows = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', this.afterSeq).orderBy('seq').limit(VERIFY_PAGE).execute();
    if (rows.length < VERIFY_PAGE) this.exhausted = true;
    this.buffer = rows.map(toAuditEntry);
    const last = this.buffer[this.buffer.length - 1];
    if (last !== undefined) this.afterSeq = last.seq;
  }
}
