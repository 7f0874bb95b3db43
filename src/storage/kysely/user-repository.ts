import type { Kysely, Selectable } from 'kysely';
import type { User, UserRepository } from '../storage.js';
import { toNumber, type Database, type UsersTable } from './database.js';

export class KyselyUserRepository implements UserRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  /** Emails are matched exactly: callers normalise them (e.g. lower-case) before storing and looking up. */
  async create(user: User): Promise<void> {
    await this.db
      .insertInto('users')
      .values({
        id: user.id,
        organization_id: user.organizationId,
        email: user.email,
        name: user.name,
        issuer: user.issuer,
        subject: user.subject,
        created_at: user.createdAt,
      })
      .execute();
  }

  async get(id: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async findBySubject(issuer: string, subject: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
    return row && toUser(row);
  }

  async findByEmail(organizationId: string, email: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('organization_id', '=', organizationId).where('email', '=', email).executeTakeFirst();
    return row && toUser(row);
  }

  async list(organizationId?: string): Promise<User[]> {
    let query = this.db.selectFrom('users').selectAll();
    if (organizationId !== undefined) query = query.where('organization_id', '=', organizationId);
    const rows = await query.orderBy('created_at').orderBy('id').execute();
    return rows.map(toUser);
  }

  /** Removes the user and their role assignments, in one transaction. */
  async delete(id: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('role_assignments').where('user_id', '=', id).execute();
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return result.numDeletedRows > 0n;
    });
  }
}

function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    organizationId: row.organization_id,
    email: row.email,
    name: row.name,
    issuer: row.issuer,
    subject: row.subject,
    createdAt: toNumber(row.created_at),
  };
}
