import { sql, type Kysely, type Selectable } from 'kysely';
import {
  ABUSE_SAMPLE_MAX_CHARS,
  type AbuseCategory,
  type AbuseEventInput,
  type AbuseRepository,
  type AbuseReview,
  type AbuseReviewFilter,
  type AbuseReviewStatus,
  type AbuseSample,
  type AbuseSubjectType,
} from '../storage.js';
import { toNullableNumber, toNumber, type AbuseReviewsTable, type AbuseSamplesTable, type Database } from './database.js';

/** Statuses of a subject's active review; the partial unique index `abuse_reviews_active` keeps one. */
const ACTIVE: readonly AbuseReviewStatus[] = ['open', 'suspended'];
const DEFAULT_LIMIT = 100;

/** Cuts text to at most `max` UTF-16 units without splitting a surrogate pair. */
export function truncateText(text: string, max = ABUSE_SAMPLE_MAX_CHARS): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

export class KyselyAbuseRepository implements AbuseRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /**
   * Update-then-insert: the update adds to an active review; when there is none the insert opens
   * one, and should another replica have opened it in between, the unique index refuses the insert
   * and the next round adds to that one instead.
   */
  async record(event: AbuseEventInput): Promise<{ review: AbuseReview; opened: boolean }> {
    let failure: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const updated = await this.db
        .updateTable('abuse_reviews')
        .set((eb) => ({
          events: eb('events', '+', event.events),
          // The cast types the time for PostgreSQL, which would otherwise read an untyped parameter as text.
          last_at: sql<number>`case when last_at < cast(${event.at} as bigint) then cast(${event.at} as bigint) else last_at end`,
          reason: event.reason,
        }))
        .where('subject_type', '=', event.subjectType)
        .where('subject_id', '=', event.subjectId)
        .where('project_id', '=', event.projectId)
        .where('status', 'in', ACTIVE)
        .returningAll()
        .executeTakeFirst();
      if (updated) return { review: toReview(updated), opened: false };
      const review: AbuseReview = {
        id: event.id,
        subjectType: event.subjectType,
        subjectId: event.subjectId,
        projectId: event.projectId,
        organizationId: event.organizationId,
        status: 'open',
        reason: event.reason,
        events: event.initialEvents ?? event.events,
        firstAt: event.at,
        lastAt: event.at,
        decidedBy: null,
        decidedAt: null,
      };
      try {
        await this.db
          .insertInto('abuse_reviews')
          .values({
            id: review.id,
            subject_type: review.subjectType,
            subject_id: review.subjectId,
            project_id: review.projectId,
            organization_id: review.organizationId,
            status: review.status,
            reason: review.reason,
            events: review.events,
            first_at: review.firstAt,
            last_at: review.lastAt,
            decided_by: null,
            decided_at: null,
          })
          .execute();
        return { review, opened: true };
      } catch (error) {
        failure = error;
      }
    }
    throw failure;
  }

  async get(id: string): Promise<AbuseReview | undefined> {
    const row = await this.db.selectFrom('abuse_reviews').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toReview(row);
  }

  async findActive(subjectType: AbuseSubjectType, subjectId: string, projectId: string): Promise<AbuseReview | undefined> {
    const row = await this.db
      .selectFrom('abuse_reviews')
      .selectAll()
      .where('subject_type', '=', subjectType)
      .where('subject_id', '=', subjectId)
      .where('project_id', '=', projectId)
      .where('status', 'in', ACTIVE)
      .executeTakeFirst();
    return row && toReview(row);
  }

  async updateStatus(
    id: string,
    change: { status: AbuseReviewStatus; decidedBy: string; decidedAt: number; reason?: string },
  ): Promise<AbuseReview | undefined> {
    const row = await this.db
      .updateTable('abuse_reviews')
      .set({
        status: change.status,
        decided_by: change.decidedBy,
        decided_at: change.decidedAt,
        ...(change.reason === undefined ? {} : { reason: change.reason }),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toReview(row);
  }

  async list(filter: AbuseReviewFilter = {}): Promise<AbuseReview[]> {
    let query = this.db.selectFrom('abuse_reviews').selectAll();
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.organizationId !== undefined) query = query.where('organization_id', '=', filter.organizationId);
    if (filter.subjectType !== undefined) query = query.where('subject_type', '=', filter.subjectType);
    if (filter.subjectId !== undefined) query = query.where('subject_id', '=', filter.subjectId);
    const rows = await query
      .orderBy('last_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit ?? DEFAULT_LIMIT)
      .execute();
    return rows.map(toReview);
  }

  async addSample(sample: AbuseSample): Promise<void> {
    await this.db
      .insertInto('abuse_samples')
      .values({
        id: sample.id,
        review_id: sample.reviewId,
        request_id: sample.requestId,
        project_id: sample.projectId,
        organization_id: sample.organizationId,
        subject_type: sample.subjectType,
        subject_id: sample.subjectId,
        direction: sample.direction,
        text: truncateText(sample.text),
        categories: JSON.stringify(sample.categories),
        at: sample.at,
      })
      .execute();
  }

  async listSamples(reviewId: string, limit = DEFAULT_LIMIT): Promise<AbuseSample[]> {
    const rows = await this.db
      .selectFrom('abuse_samples')
      .selectAll()
      .where('review_id', '=', reviewId)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toSample);
  }

  async pruneSamples(before: number): Promise<number> {
    const result = await this.db.deleteFrom('abuse_samples').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toReview(row: Selectable<AbuseReviewsTable>): AbuseReview {
  return {
    id: row.id,
    subjectType: row.subject_type as AbuseSubjectType,
    subjectId: row.subject_id,
    projectId: row.project_id,
    organizationId: row.organization_id,
    status: row.status as AbuseReviewStatus,
    reason: row.reason,
    events: toNumber(row.events),
    firstAt: toNumber(row.first_at),
    lastAt: toNumber(row.last_at),
    decidedBy: row.decided_by,
    decidedAt: toNullableNumber(row.decided_at),
  };
}

function toSample(row: Selectable<AbuseSamplesTable>): AbuseSample {
  return {
    id: row.id,
    reviewId: row.review_id,
    requestId: row.request_id,
    projectId: row.project_id,
    organizationId: row.organization_id,
    subjectType: row.subject_type as AbuseSubjectType,
    subjectId: row.subject_id,
    direction: row.direction as 'prompt' | 'completion',
    text: row.text,
    categories: JSON.parse(row.categories) as AbuseCategory[],
    at: toNumber(row.at),
  };
}
