import type { Kysely, Selectable, Updateable } from 'kysely';
import type { Project, ProjectRepository } from '../storage.js';
import { toBoolean, toFlag, toNumber, type Database, type ProjectsTable } from './database.js';

export class KyselyProjectRepository implements ProjectRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async create(project: Project): Promise<void> {
    await this.db
      .insertInto('projects')
      .values({
        id: project.id,
        organization_id: project.organizationId,
        name: project.name,
        key_auth_enabled: toFlag(project.keyAuthEnabled),
        data_zone: project.dataZone,
        regions: project.regions === null ? null : JSON.stringify(project.regions),
        created_at: project.createdAt,
      })
      .execute();
  }

  async get(id: string): Promise<Project | undefined> {
    const row = await this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toProject(row);
  }

  async list(organizationId?: string): Promise<Project[]> {
    let query = this.db.selectFrom('projects').selectAll();
    if (organizationId !== undefined) query = query.where('organization_id', '=', organizationId);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toProject);
  }

  async update(id: string, changes: Partial<Pick<Project, 'name' | 'keyAuthEnabled' | 'dataZone' | 'regions'>>): Promise<Project | undefined> {
    const set: Updateable<ProjectsTable> = {};
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.keyAuthEnabled !== undefined) set.key_auth_enabled = toFlag(changes.keyAuthEnabled);
    if (changes.dataZone !== undefined) set.data_zone = changes.dataZone;
    if (changes.regions !== undefined) set.regions = changes.regions === null ? null : JSON.stringify(changes.regions);
    if (Object.keys(set).length === 0) return this.get(id);
    const row = await this.db.updateTable('projects').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    return row && toProject(row);
  }

  /**
   * One transaction, children first (foreign keys are on): budgets of the project and of its keys,
   * keys, quotas, role assignments on the project, access requests, then the project. Usage and
   * audit entries stay: they are history, not configuration.
   */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const keyIds = trx.selectFrom('api_keys').select('id').where('project_id', '=', id);
      await trx
        .deleteFrom('budgets')
        .where((eb) => eb.or([eb.and([eb('scope', '=', 'project'), eb('scope_id', '=', id)]), eb.and([eb('scope', '=', 'key'), eb('scope_id', 'in', keyIds)])]))
        .execute();
      await trx.deleteFrom('api_keys').where('project_id', '=', id).execute();
      await trx.deleteFrom('project_quotas').where('project_id', '=', id).execute();
      await trx.deleteFrom('role_assignments').where('scope', '=', 'project').where('scope_id', '=', id).execute();
      await trx.deleteFrom('access_requests').where('project_id', '=', id).execute();
      const listIds = trx.selectFrom('blocklists').select('id').where('project_id', '=', id);
      await trx.deleteFrom('blocklist_terms').where('blocklist_id', 'in', listIds).execute();
      await trx.deleteFrom('blocklists').where('project_id', '=', id).execute();
      await trx.deleteFrom('project_filter_policies').where('project_id', '=', id).execute();
      const result = await trx.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }
}

function toProject(row: Selectable<ProjectsTable>): Project {
  return {
    id: row.id,
    organizationId: row.organization_id,
    name: row.name,
    keyAuthEnabled: toBoolean(row.key_auth_enabled),
    dataZone: row.data_zone ?? null,
    regions: row.regions === null || row.regions === undefined ? null : (JSON.parse(row.regions) as string[]),
    createdAt: toNumber(row.created_at),
  };
}
