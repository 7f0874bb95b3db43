import type { Kysely, Selectable } from 'kysely';
import type { ProjectFilterPolicy, SafetySettingsRepository } from '../storage.js';
import { toNumber, type Database, type ProjectFilterPoliciesTable } from './database.js';

export class KyselySafetySettingsRepository implements SafetySettingsRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async setPolicy(policy: ProjectFilterPolicy): Promise<void> {
    await this.db
      .insertInto('project_filter_policies')
      .values({ project_id: policy.projectId, deployment: policy.deployment, policy: policy.policy, updated_at: policy.updatedAt })
      .onConflict((oc) =>
        oc.columns(['project_id', 'deployment']).doUpdateSet((eb) => ({
          policy: eb.ref('excluded.policy'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  async removePolicy(projectId: string, deployment: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('project_filter_policies')
      .where('project_id', '=', projectId)
      .where('deployment', '=', deployment)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async list(projectId?: string): Promise<ProjectFilterPolicy[]> {
    let query = this.db.selectFrom('project_filter_policies').selectAll();
    if (projectId !== undefined) query = query.where('project_id', '=', projectId);
    const rows = await query.orderBy('project_id').orderBy('deployment').execute();
    return rows.map(toPolicy);
  }
}

function toPolicy(row: Selectable<ProjectFilterPoliciesTable>): ProjectFilterPolicy {
  return { projectId: row.project_id, deployment: row.deployment, policy: row.policy, updatedAt: toNumber(row.updated_at) };
}
