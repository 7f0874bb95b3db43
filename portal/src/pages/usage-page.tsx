import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Controller } from 'react-hook-form';
import type { DeploymentPolicy, Listing, Project } from '../api/admin-types.js';
import { count, usd } from '../api/format.js';
import { rowLabel, tokensOf, totalOf, usageCsv, usagePath, USAGE_GROUPS, type UsageFilter, type UsageGroup, type UsageRow } from '../api/usage.js';
import './usage-pages.css';
import { usePortal } from '../app/portal-context.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, useCheckedForm } from '../components/form-fields.js';
import { Empty, ErrorNotice, Loading } from '../components/status.js';
import { UsageChart } from '../components/usage-chart.js';

const DAY_MS = 86_400_000;

/** A `<input type="date">` value (local date) for `at`. */
function dateInput(at: number): string {
  const date = new Date(at);
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
}

/** Local midnight of a date input's value, as epoch ms; undefined when empty or unreadable. */
function startOfDate(value: string): number | undefined {
  if (!value) return undefined;
  const [year, month, day] = value.split('-').map(Number);
  const at = new Date(year, month - 1, day).getTime();
  return Number.isNaN(at) ? undefined : at;
}

/** The range's problem, if its end is before its start (either may be left empty). */
function rangeProblem(from: string, to: string): string | true {
  const start = startOfDate(from);
  const end = startOfDate(to);
  return start !== undefined && end !== undefined && end < start ? 'The end date is before the start date.' : true;
}

interface Filters {
  from: string;
  to: string;
  project: string;
  key: string;
  deployment: string;
  model: string;
  groups: UsageGroup[];
}

interface Query {
  readonly filter: UsageFilter;
  readonly groups: UsageGroup[];
}

/** Usage filtered by time, project, key, deployment and model, grouped as chosen, as a table and a chart, exportable as CSV. */
export function UsagePage() {
  const { client } = usePortal();
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => client.admin<Listing<Project>>('GET', '/projects') });
  const deployments = useQuery({ queryKey: ['deployments'], queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments') });
  const {
    register,
    control,
    handleSubmit,
    formState: { errors },
  } = useCheckedForm<Filters>({
    from: dateInput(Date.now() - 6 * DAY_MS),
    to: dateInput(Date.now()),
    project: '',
    key: '',
    deployment: '',
    model: '',
    groups: ['project', 'deployment'],
  });
  const [query, setQuery] = useState<Query | null>(null);

  const submit = handleSubmit(({ from, to, project, key, deployment, model, groups }) => {
    const start = startOfDate(from);
    const end = startOfDate(to);
    // The end date is included: the range runs to the next local midnight.
    setQuery({ filter: { from: start, to: end === undefined ? undefined : end + DAY_MS, project, key, deployment, model }, groups: [...groups] });
  });

  return (
    <section>
      <h1>Usage</h1>
      <form className="filters" onSubmit={(event) => void submit(event)} noValidate>
        <div className="field">
          <label htmlFor="usage-from">From</label>
          <input id="usage-from" type="date" {...register('from')} />
        </div>
        <div className="field">
          <label htmlFor="usage-to">To (inclusive)</label>
          <input
            id="usage-to"
            type="date"
            {...fieldAria(errors.to?.message, 'usage-range-problem')}
            {...register('to', { validate: (to, { from }) => rangeProblem(from, to) })}
          />
        </div>
        <div className="field">
          <label htmlFor="usage-project">Project</label>
          <select id="usage-project" {...register('project')}>
            <option value="">All projects</option>
            {(projects.data?.data ?? []).map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.name} ({candidate.id})
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="usage-key">Key id</label>
          <input id="usage-key" placeholder="key_…" {...register('key')} />
        </div>
        <div className="field">
          <label htmlFor="usage-deployment">Deployment</label>
          <select id="usage-deployment" {...register('deployment')}>
            <option value="">All deployments</option>
            {(deployments.data?.data ?? []).map((candidate) => (
              <option key={candidate.deployment} value={candidate.deployment}>
                {candidate.deployment}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="usage-model">Model</label>
          <input id="usage-model" placeholder="gpt-4o-mini" {...register('model')} />
        </div>
        <Controller
          control={control}
          name="groups"
          render={({ field }) => (
            <fieldset className="groups choices">
              <legend>Group by</legend>
              {USAGE_GROUPS.map((group) => (
                <label key={group}>
                  <input
                    type="checkbox"
                    checked={field.value.includes(group)}
                    onChange={(event) =>
                      // Kept in the order of USAGE_GROUPS, whatever the order ticked.
                      field.onChange(USAGE_GROUPS.filter((candidate) => (candidate === group ? event.target.checked : field.value.includes(candidate))))
                    }
                    onBlur={field.onBlur}
                  />{' '}
                  {group}
                </label>
              ))}
            </fieldset>
          )}
        />
        <button type="submit" className="primary">
          Show usage
        </button>
        <FieldProblem id="usage-range-problem" problem={errors.to?.message} />
      </form>
      {query ? <UsageResult key={JSON.stringify(query)} query={query} /> : <Empty>Choose the filters and groups, then show usage.</Empty>}
    </section>
  );
}

function UsageResult({ query }: { query: Query }) {
  const { client } = usePortal();
  const path = usagePath(query.filter, query.groups);
  const usage = useQuery({ queryKey: ['usage', path], queryFn: () => client.admin<Listing<UsageRow>>('GET', path) });
  const columns = useMemo(
    () => [
      ...query.groups.map((group) => ({
        id: group,
        header: group,
        accessorFn: (row: UsageRow) => (group === 'key' ? (row.key ?? 'no key') : (row[group] ?? '')),
      })),
      {
        id: 'requests',
        header: 'Requests',
        accessorFn: (row: UsageRow) => row.requests,
        cell: (info: { getValue: () => unknown }) => count(Number(info.getValue())),
      },
      {
        id: 'prompt',
        header: 'Prompt tokens',
        accessorFn: (row: UsageRow) => row.prompt_tokens,
        cell: (info: { getValue: () => unknown }) => count(Number(info.getValue())),
      },
      {
        id: 'completion',
        header: 'Completion tokens',
        accessorFn: (row: UsageRow) => row.completion_tokens,
        cell: (info: { getValue: () => unknown }) => count(Number(info.getValue())),
      },
      { id: 'cost', header: 'Cost', accessorFn: (row: UsageRow) => row.cost_usd, cell: (info: { getValue: () => unknown }) => usd(Number(info.getValue())) },
      {
        id: 'errors',
        header: 'Errors',
        accessorFn: (row: UsageRow) => row.errors,
        cell: (info: { getValue: () => unknown }) => count(Number(info.getValue())),
      },
    ],
    [query.groups],
  );
  if (usage.isPending) return <Loading what="usage" />;
  if (usage.isError) return <ErrorNotice error={usage.error} />;
  const rows = usage.data.data;
  const total = totalOf(rows);
  const download = () => {
    const url = URL.createObjectURL(new Blob([usageCsv(rows, query.groups)], { type: 'text/csv' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `usage-${new Date().toISOString().slice(0, 10)}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  };
  return (
    <>
      <p className="muted">
        {count(total.requests)} requests, {count(tokensOf(total))} tokens, {usd(total.cost_usd)}, {count(total.errors)} errors.
      </p>
      <UsageChart
        title={query.groups.length > 0 ? `Requests per ${query.groups.join(' and ')}` : 'Requests'}
        points={rows.map((row) => ({ label: rowLabel(row, query.groups), value: row.requests }))}
        format={count}
      />
      <DataTable caption="Usage" rows={rows} rowKey={(row) => rowLabel(row, query.groups)} empty="Nothing was recorded for these filters." columns={columns} />
      <button type="button" onClick={download} disabled={rows.length === 0}>
        Export CSV
      </button>
    </>
  );
}
