import type { Kysely, Selectable } from 'kysely';
import type { Organization, OrganizationRepository } from '../storage.js';
import { toNumber, type Database, type OrganizationsTable } from './database.js';

export class KyselyOrganizationRepository implements OrganizationRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async create(org: Organization): Promise<void> {
    await this.db.insertInto('organizations').values({ id: org.id, name: org.name, created_at: org.createdAt }).execute();
  }

  async get(id: string): Promise<Organization | undefined> {
    const row = await this.db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toOrganization(row);
  }

  async list(): Promise<Organization[]> {
    const rows = await this.db.selectFrom('organizations').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toOrganization);
  }
}

function toOrganization(row: Selectable<OrganizationsTable>): Organization {
  return { id: row.id, name: row.name, createdAt: toNumber(row.created_at) };
}
