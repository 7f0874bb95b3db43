import { useQueries, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import type { ReactNode } from 'react';
import type { DeploymentPolicy, DeploymentTargets, Listing } from '../api/admin-types.js';
import type { ApiError } from '../api/api-client.js';
import { count, usd } from '../api/format.js';
import { mayAnywhere } from '../api/identity.js';
import { usePortal, useIdentity } from '../app/portal-context.js';
import { DataTable } from '../components/data-table.js';
import { LocalTime } from '../components/local-time.js';
import { Empty, ErrorNotice, Loading } from '../components/status.js';

interface Row {
  readonly policy: DeploymentPolicy;
  readonly routing: { data?: DeploymentTargets; error?: ApiError | null; pending: boolean };
}

const column = createColumnHelper<Row>();

function Routing({ routing, children }: { routing: Row['routing']; children: (data: DeploymentTargets) => ReactNode }) {
  if (routing.pending) return <span className="muted">…</span>;
  if (routing.error)
    return (
      <span className="muted" title={routing.error.message}>
        unavailable
      </span>
    );
  return routing.data ? <>{children(routing.data)}</> : null;
}

const COLUMNS = [
  column.accessor((row) => row.policy.deployment, { id: 'name', header: 'Deployment', cell: (info) => <strong>{info.getValue()}</strong> }),
  column.display({
    id: 'targets',
    header: 'Provider / model',
    cell: ({ row }) => (
      <Routing routing={row.original.routing}>
        {(data) => (
          <ul className="plain">
            {data.targets.map((target) => (
              <li key={target.id}>
                {target.provider} / <code>{target.model}</code>
              </li>
            ))}
          </ul>
        )}
      </Routing>
    ),
  }),
  column.display({
    id: 'region',
    header: 'Region',
    cell: ({ row }) => (
      <Routing routing={row.original.routing}>
        {(data) => (
          <ul className="plain">
            {data.targets.map((target) => (
              <li key={target.id}>{target.region}</li>
            ))}
          </ul>
        )}
      </Routing>
    ),
  }),
  column.accessor((row) => row.routing.data?.type ?? '', { id: 'type', header: 'Type', cell: (info) => info.getValue() || '—' }),
  column.accessor((row) => row.routing.data?.strategy ?? '', { id: 'strategy', header: 'Strategy', cell: (info) => info.getValue() || '—' }),
  column.accessor((row) => row.policy.gated, { id: 'gated', header: 'Access', cell: (info) => (info.getValue() ? 'limited (approval)' : 'open') }),
  column.accessor((row) => row.policy.tpm ?? -1, {
    id: 'tpm',
    header: 'TPM',
    cell: ({ row }) => (row.original.policy.tpm === null ? 'no limit' : count(row.original.policy.tpm)),
  }),
  column.display({
    id: 'prices',
    header: 'Prices per 1M tokens',
    cell: ({ row }) => {
      const prices = row.original.policy.prices;
      if (!prices) return <span className="muted">not priced</span>;
      return (
        <span>
          in {usd(prices.input_per_million)} · out {usd(prices.output_per_million)}
          {prices.cached_input_per_million > 0 ? ` · cached ${usd(prices.cached_input_per_million)}` : ''}
        </span>
      );
    },
  }),
  column.display({
    id: 'health',
    header: 'Health',
    cell: ({ row }) => (
      <Routing routing={row.original.routing}>
        {(data) => (
          <ul className="plain">
            {data.targets.map((target) => (
              <li key={target.id}>
                <span className={`badge state-${target.drained ? 'drained' : target.state}`}>{target.drained ? 'drained' : target.state}</span>
                {target.cooling_until ? (
                  <span className="muted">
                    {' '}
                    cooling until <LocalTime value={target.cooling_until} />
                  </span>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </Routing>
    ),
  }),
];

/** Every deployment with its targets, access, TPM, prices and each target's live health. */
export function DeploymentsPage() {
  const { client } = usePortal();
  const identity = useIdentity();
  const readable = mayAnywhere(identity, 'deployments:read');
  const policies = useQuery({
    queryKey: ['deployments'],
    queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments'),
    enabled: readable,
  });
  const names = policies.data?.data.map((policy) => policy.deployment) ?? [];
  const targets = useQueries({
    queries: names.map((name) => ({
      queryKey: ['deployments', name, 'targets'],
      queryFn: () => client.admin<DeploymentTargets>('GET', `/deployments/${encodeURIComponent(name)}/targets`),
      refetchInterval: 15_000,
    })),
  });
  const rows: Row[] = (policies.data?.data ?? []).map((policy, index) => ({
    policy,
    routing: { data: targets[index]?.data, error: (targets[index]?.error as ApiError | null) ?? null, pending: targets[index]?.isPending ?? true },
  }));
  return (
    <section>
      <h1>Deployments</h1>
      {!readable ? (
        <Empty>None of your roles lets you read deployments.</Empty>
      ) : policies.isPending ? (
        <Loading what="deployments" />
      ) : policies.isError ? (
        <ErrorNotice error={policies.error} />
      ) : (
        <DataTable
          rows={rows}
          columns={COLUMNS}
          caption="Deployments"
          rowKey={(row) => row.policy.deployment}
          empty="No deployments are configured: add them under `deployments` in the configuration."
        />
      )}
    </section>
  );
}
