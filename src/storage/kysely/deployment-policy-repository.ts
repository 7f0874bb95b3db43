import type { Kysely, Selectable } from 'kysely';
import type { DeploymentPolicy, DeploymentPolicyRepository } from '../storage.js';
import { toBoolean, toFlag, toNullableNumber, toNumber, type Database, type DeploymentPoliciesTable } from './database.js';

export class KyselyDeploymentPolicyRepository implements DeploymentPolicyRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async get(deployment: string): Promise<DeploymentPolicy | undefined> {
    const row = await this.db.selectFrom('deployment_policies').selectAll().where('deployment', '=', deployment).executeTakeFirst();
    return row && toPolicy(row);
  }

  async list(): Promise<DeploymentPolicy[]> {
    const rows = await this.db.selectFrom('deployment_policies').selectAll().orderBy('deployment').execute();
    return rows.map(toPolicy);
  }

  async upsert(policy: DeploymentPolicy): Promise<void> {
    const { prices } = policy;
    await this.db
      .insertInto('deployment_policies')
      .values({
        deployment: policy.deployment,
        gated: toFlag(policy.gated),
        tpm: policy.tpm,
        input_per_million: prices?.inputPerMillion ?? null,
        cached_input_per_million: prices?.cachedInputPerMillion ?? null,
        cache_write_per_million: prices?.cacheWritePerMillion ?? null,
        output_per_million: prices?.outputPerMillion ?? null,
        per_image: prices?.perImage ?? null,
        updated_at: policy.updatedAt,
      })
      .onConflict((oc) =>
        oc.column('deployment').doUpdateSet((eb) => ({
          gated: eb.ref('excluded.gated'),
          tpm: eb.ref('excluded.tpm'),
          input_per_million: eb.ref('excluded.input_per_million'),
          cached_input_per_million: eb.ref('excluded.cached_input_per_million'),
          cache_write_per_million: eb.ref('excluded.cache_write_per_million'),
          output_per_million: eb.ref('excluded.output_per_million'),
          per_image: eb.ref('excluded.per_image'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }
}

function toPolicy(row: Selectable<DeploymentPoliciesTable>): DeploymentPolicy {
  const input = toNullableNumber(row.input_per_million);
  return {
    deployment: row.deployment,
    gated: toBoolean(row.gated),
    tpm: toNullableNumber(row.tpm),
    // Written all-or-none by upsert; the input price column stands for the others.
    prices:
      input === null
        ? null
        : {
            inputPerMillion: input,
            cachedInputPerMillion: toNullableNumber(row.cached_input_per_million) ?? 0,
            // Policies priced before cache writes had a price of their own charged them as input.
            cacheWritePerMillion: toNullableNumber(row.cache_write_per_million) ?? input,
            outputPerMillion: toNullableNumber(row.output_per_million) ?? 0,
            perImage: toNullableNumber(row.per_image) ?? 0,
          },
    updatedAt: toNumber(row.updated_at),
  };
}
