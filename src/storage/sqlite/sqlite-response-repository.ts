import type SqliteDatabase from 'better-sqlite3';
import type { Insertable } from 'kysely';
import type { ResponsesTable } from '../kysely/database.js';
import { KyselyResponseRepository } from '../kysely/response-repository.js';

const UPSERT = `insert into responses (id, project_id, created_at, model, previous_response_id, input, response, status)
values (?, ?, ?, ?, ?, ?, ?, ?)
on conflict (id) do update set project_id = excluded.project_id, created_at = excluded.created_at, model = excluded.model,
  previous_response_id = excluded.previous_response_id, input = excluded.input, response = excluded.response, status = excluded.status`;

/**
 * Stored responses on SQLite: a batch is written through one prepared statement kept for the life
 * of the connection, row by row inside one transaction. Kysely's multi-row insert changes its text
 * with the row count, so SQLite compiled it anew for every batch, and building it cost more than
 * writing the rows (about 80 µs of CPU per response in batches of three, against 25 this way).
 * Reads are the shared Kysely queries.
 */
export class SqliteResponseRepository extends KyselyResponseRepository {
  private readonly database: SqliteDatabase.Database;
  private write: ((rows: ReadonlyArray<Insertable<ResponsesTable>>) => void) | undefined;

  constructor(db: ConstructorParameters<typeof KyselyResponseRepository>[0], database: SqliteDatabase.Database) {
    super(db);
    this.database = database;
  }

  protected override async insert(batch: ReadonlyArray<{ row: Insertable<ResponsesTable> }>): Promise<void> {
    const rows = batch.map((entry) => entry.row);
    // Prepared on first use (the table exists only once migrations ran), and run through Kysely's
    // connection so that no Kysely transaction on the same connection is open meanwhile.
    await this.db.connection().execute(async () => (this.write ??= this.prepare())(rows));
  }

  private prepare(): (rows: ReadonlyArray<Insertable<ResponsesTable>>) => void {
    const statement = this.database.prepare(UPSERT);
    return this.database.transaction((rows: ReadonlyArray<Insertable<ResponsesTable>>) => {
      for (const row of rows) {
        statement.run(row.id, row.project_id, row.created_at, row.model, row.previous_response_id ?? null, row.input, row.response, row.status);
      }
    });
  }
}
