import type { Kysely, Selectable } from 'kysely';
import type { AccessRequest, AccessRequestRepository, AccessRequestStatus } from '../storage.js';
import { toNullableNumber, toNumber, type AccessRequestsTable, type Database } from './database.js';

export class KyselyAccessRequestRepository implements AccessRequestRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async create(request: AccessRequest): Promise<void> {
    await this.db
      .insertInto('access_requests')
      .values({
        id: request.id,
        project_id: request.projectId,
        deployment: request.deployment,
        use_case: request.useCase,
        status: request.status,
        created_at: request.createdAt,
        decided_by: request.decidedBy,
        decided_at: request.decidedAt,
        reason: request.reason,
      })
      .execute();
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    const row = await this.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toAccessRequest(row);
  }

  async list(filter: { projectId?: string; deployment?: string; status?: AccessRequestStatus } = {}): Promise<AccessRequest[]> {
    let query = this.db.selectFrom('access_requests').selectAll();
    if (filter.projectId !== undefined) query = query.where('project_id', '=', filter.projectId);
    if (filter.deployment !== undefined) query = query.where('deployment', '=', filter.deployment);
    if (filter.status !== undefined) query = query.where('status', '=', filter.status);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toAccessRequest);
  }

  /** A decision may be changed later (e.g. an approval withdrawn by rejecting); the latest one stands. */
  async decide(
    id: string,
    decision: { status: 'approved' | 'rejected'; decidedBy: string; decidedAt: number; reason: string | null },
  ): Promise<AccessRequest | undefined> {
    const row = await this.db
      .updateTable('access_requests')
      .set({ status: decision.status, decided_by: decision.decidedBy, decided_at: decision.decidedAt, reason: decision.reason })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toAccessRequest(row);
  }

  async approvedDeployments(projectId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('access_requests')
      .select('deployment')
      .distinct()
      .where('project_id', '=', projectId)
      .where('status', '=', 'approved')
      .orderBy('deployment')
      .execute();
    return rows.map((row) => row.deployment);
  }
}

function toAccessRequest(row: Selectable<AccessRequestsTable>): AccessRequest {
  return {
    id: row.id,
    projectId: row.project_id,
    deployment: row.deployment,
    useCase: row.use_case,
    status: row.status as AccessRequestStatus,
    createdAt: toNumber(row.created_at),
    decidedBy: row.decided_by,
    decidedAt: toNullableNumber(row.decided_at),
    reason: row.reason,
  };
}
