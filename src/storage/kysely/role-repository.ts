import type { Kysely, Selectable } from 'kysely';
import type { Role, RoleAssignment, RoleRepository, Scope } from '../storage.js';
import { toNumber, type Database, type RoleAssignmentsTable } from './database.js';

export class KyselyRoleRepository implements RoleRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /**
   * One upsert on the unique (user, scope, scope id): a second assignment on the same scope replaces
   * the first entirely (id, role and time become the given ones), so a user holds one role per scope.
   */
  async assign(assignment: RoleAssignment): Promise<void> {
    await this.db
      .insertInto('role_assignments')
      .values({
        id: assignment.id,
        user_id: assignment.userId,
        scope: assignment.scope,
        scope_id: assignment.scopeId,
        role: assignment.role,
        created_at: assignment.createdAt,
      })
      .onConflict((oc) =>
        oc.columns(['user_id', 'scope', 'scope_id']).doUpdateSet((eb) => ({
          id: eb.ref('excluded.id'),
          role: eb.ref('excluded.role'),
          created_at: eb.ref('excluded.created_at'),
        })),
      )
      .execute();
  }

  async revoke(userId: string, scope: Scope, scopeId: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('role_assignments')
      .where('user_id', '=', userId)
      .where('scope', '=', scope)
      .where('scope_id', '=', scopeId)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  async listForUser(userId: string): Promise<RoleAssignment[]> {
    const rows = await this.db.selectFrom('role_assignments').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
    return rows.map(toRoleAssignment);
  }

  async listForScope(scope: Scope, scopeId: string): Promise<RoleAssignment[]> {
    const rows = await this.db
      .selectFrom('role_assignments')
      .selectAll()
      .where('scope', '=', scope)
      .where('scope_id', '=', scopeId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRoleAssignment);
  }
}

function toRoleAssignment(row: Selectable<RoleAssignmentsTable>): RoleAssignment {
  return {
    id: row.id,
    userId: row.user_id,
    scope: row.scope as Scope,
    scopeId: row.scope_id,
    role: row.role as Role,
    createdAt: toNumber(row.created_at),
  };
}
