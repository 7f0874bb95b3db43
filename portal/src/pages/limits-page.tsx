import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { count } from '../api/format.js';
import { windowUse, type ProjectLimits } from '../api/limits.js';
import './usage-pages.css';
import { usePortal } from '../app/portal-context.js';
import { BudgetMeters } from '../components/budget-meters.js';
import { DataTable } from '../components/data-table.js';
import { ProjectPicker } from '../components/project-picker.js';
import { Empty, ErrorNotice, Loading } from '../components/status.js';

/** A project's TPM quotas, and the budgets of the project and its keys with what they have spent. */
export function LimitsPage() {
  const [projectId, setProjectId] = useState('');
  return (
    <section>
      <h1>Quotas &amp; budgets</h1>
      <ProjectPicker id="limits-project" value={projectId} onChange={setProjectId}>
        {() => (projectId ? <Limits key={projectId} projectId={projectId} /> : null)}
      </ProjectPicker>
    </section>
  );
}

function Limits({ projectId }: { projectId: string }) {
  const { client } = usePortal();
  const limits = useQuery({
    queryKey: ['projects', projectId, 'limits'],
    queryFn: () => client.admin<ProjectLimits>('GET', `/projects/${encodeURIComponent(projectId)}/limits`),
  });
  if (limits.isPending) return <Loading what="limits" />;
  if (limits.isError) return <ErrorNotice error={limits.error} />;
  const { quotas, budgets } = limits.data;
  return (
    <>
      <h2>Quotas</h2>
      <DataTable
        caption={`Quotas of ${projectId}`}
        rows={quotas}
        rowKey={(quota) => quota.deployment}
        empty="No quota: the project may use each deployment up to the deployment's own limit."
        columns={[
          {
            accessorKey: 'deployment',
            header: 'Deployment',
            cell: (info) => (info.getValue() === '*' ? 'every other deployment (*)' : String(info.getValue())),
          },
          { accessorKey: 'tpm', header: 'Tokens per minute', cell: (info) => count(Number(info.getValue())) },
          { accessorKey: 'rpm', header: 'Requests per minute', cell: (info) => count(Number(info.getValue())) },
          {
            id: 'tokens-now',
            header: 'Tokens this minute',
            cell: (info) => windowUse(info.row.original.used?.tokens_this_minute, info.row.original.tpm),
          },
          {
            id: 'requests-now',
            header: 'Requests, last 10 s window',
            cell: (info) => windowUse(info.row.original.used?.requests_this_10s, info.row.original.requests_per_10s),
          },
        ]}
      />
      <h2>Budgets</h2>
      {budgets.length === 0 ? <Empty>Neither the project nor any of its keys has a budget.</Empty> : <BudgetMeters budgets={budgets} />}
      <button type="button" onClick={() => void limits.refetch()}>
        Refresh
      </button>
    </>
  );
}
