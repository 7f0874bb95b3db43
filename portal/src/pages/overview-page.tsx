import { useQueries, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { Listing, Project } from '../api/admin-types.js';
import { count, usd } from '../api/format.js';
import type { ProjectLimits } from '../api/limits.js';
import { errorRate, rangeFilter, tokensOf, totalOf, usagePath, type RangeName, type UsageGroup, type UsageRow } from '../api/usage.js';
import './usage-pages.css';
import { usePortal } from '../app/portal-context.js';
import { BudgetMeters } from '../components/budget-meters.js';
import { Empty, ErrorNotice, Loading } from '../components/status.js';
import { UsageChart } from '../components/usage-chart.js';

const RANGE_LABELS: Record<RangeName, string> = { day: 'Last day', week: 'Last week', month: 'Last month' };
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Requests, tokens, cost and error rate of the last day, week or month from the usage rollups, per project and deployment; budgets against their limits. */
export function OverviewPage() {
  const { client } = usePortal();
  const [range, setRange] = useState<RangeName>('day');
  // The range's start is fixed when it is chosen, so the query key (and the cache) stays put while it is shown.
  const [span, setSpan] = useState(() => rangeFilter('day', Date.now()));
  const byGroup = (group: UsageGroup) => ({
    queryKey: ['usage', 'overview', range, span.from, group],
    queryFn: () => client.admin<Listing<UsageRow>>('GET', usagePath(span, [group])),
  });
  const [byProject, byDeployment] = useQueries({ queries: [byGroup('project'), byGroup('deployment')] });
  const choose = (next: RangeName) => {
    setRange(next);
    setSpan(rangeFilter(next, Date.now()));
  };
  return (
    <section>
      <h1>Overview</h1>
      <div className="segmented" role="radiogroup" aria-label="Time range">
        {(Object.keys(RANGE_LABELS) as RangeName[]).map((name) => (
          <label key={name} className={name === range ? 'selected' : undefined}>
            <input type="radio" name="range" value={name} checked={name === range} onChange={() => choose(name)} />
            {RANGE_LABELS[name]}
          </label>
        ))}
        <button type="button" onClick={() => choose(range)}>
          Refresh
        </button>
      </div>
      {byProject.isPending ? (
        <Loading what="usage" />
      ) : byProject.isError ? (
        <ErrorNotice error={byProject.error} />
      ) : (
        <UsageSummary projects={byProject.data.data} deployments={byDeployment.data?.data} deploymentError={byDeployment.error} />
      )}
      <h2>Budgets</h2>
      <Budgets />
    </section>
  );
}

function UsageSummary({ projects, deployments, deploymentError }: { projects: UsageRow[]; deployments: UsageRow[] | undefined; deploymentError: unknown }) {
  const total = totalOf(projects);
  // Requests made with the master key belong to no project: named so, not left blank.
  const label = (row: UsageRow, group: 'project' | 'deployment') => {
    const value = row[group];
    return value === null || value === undefined || value === '' ? `(no ${group})` : String(value);
  };
  const charts = (rows: UsageRow[], group: 'project' | 'deployment', what: string) => (
    <div className="chart-grid">
      <UsageChart title={`Requests per ${what}`} points={rows.map((row) => ({ label: label(row, group), value: row.requests }))} format={count} />
      <UsageChart title={`Tokens per ${what}`} points={rows.map((row) => ({ label: label(row, group), value: tokensOf(row) }))} format={count} />
      <UsageChart title={`Cost per ${what}`} points={rows.map((row) => ({ label: label(row, group), value: row.cost_usd }))} format={usd} />
      <UsageChart
        title={`Error rate per ${what}`}
        points={rows.map((row) => ({ label: label(row, group), value: errorRate(row) }))}
        format={percent}
        domain={[0, 1]}
      />
    </div>
  );
  return (
    <>
      <dl className="totals" aria-label="Totals">
        <div>
          <dt>Requests</dt>
          <dd>{count(total.requests)}</dd>
        </div>
        <div>
          <dt>Tokens</dt>
          <dd>{count(tokensOf(total))}</dd>
        </div>
        <div>
          <dt>Cost</dt>
          <dd>{usd(total.cost_usd)}</dd>
        </div>
        <div>
          <dt>Error rate</dt>
          <dd>{percent(errorRate(total))}</dd>
        </div>
      </dl>
      {projects.length === 0 ? <Empty>No requests were recorded in this range.</Empty> : null}
      <h2>Per project</h2>
      {charts(projects, 'project', 'project')}
      <h2>Per deployment</h2>
      {deploymentError ? (
        <ErrorNotice error={deploymentError} />
      ) : deployments ? (
        charts(deployments, 'deployment', 'deployment')
      ) : (
        <Loading what="usage per deployment" />
      )}
    </>
  );
}

/** Every visible project's budgets with this month's and day's spend. */
function Budgets() {
  const { client } = usePortal();
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => client.admin<Listing<Project>>('GET', '/projects') });
  const limits = useQueries({
    queries: (projects.data?.data ?? []).map((project) => ({
      queryKey: ['projects', project.id, 'limits'],
      queryFn: () => client.admin<ProjectLimits>('GET', `/projects/${encodeURIComponent(project.id)}/limits`),
    })),
  });
  if (projects.isPending) return <Loading what="projects" />;
  if (projects.isError) return <ErrorNotice error={projects.error} />;
  const failed = limits.find((query) => query.isError);
  if (failed) return <ErrorNotice error={failed.error} />;
  if (limits.some((query) => query.isPending)) return <Loading what="budgets" />;
  const budgets = limits.flatMap((query) => query.data?.budgets ?? []);
  if (budgets.length === 0) return <Empty>No project or key has a budget (an owner sets them with `cerulean budgets set`).</Empty>;
  return <BudgetMeters budgets={budgets} />;
}
