import type { Kysely, Selectable } from 'kysely';
import type { ProjectQuota, QuotaRepository } from '../storage.js';
import { toNumber, type Database, type ProjectQuotasTable } from './database.js';

export class KyselyQuotaRepository implements QuotaRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async list(projectId?: string): Promise<ProjectQuota[]> {
    let query = this.db.selectFrom('project_quotas').selectAll();
    if (projectId !== undefined) query = query.where('project_id', '=', projectId);
    const rows = await query.orderBy('project_id').orderBy('deployment').execute();
    return rows.map(toQuota);
  }

  async set(quota: ProjectQuota): Promise<void> {
    await this.db
      .insertInto('project_quotas')
      .values({ project_id: quota.projectId, deployment: quota.deployment, tpm: quota.tpm, updated_at: quota.updatedAt })
      .onConflict((oc) =>
        oc.columns(['project_id', 'deployment']).doUpdateSet((eb) => ({
          tpm: eb.ref('excluded.tpm'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  async remove(projectId: string, deployment: string): Promise<boolean> {
    const result = await this.db.deleteFrom('project_quotas').where('project_id', '=', projectId).where('deployment', '=', deployment).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function toQuota(row: Selectable<ProjectQuotasTable>): ProjectQuota {
  return { projectId: row.project_id, deployment: row.deployment, tpm: toNumber(row.tpm), updatedAt: toNumber(row.updated_at) };
}
