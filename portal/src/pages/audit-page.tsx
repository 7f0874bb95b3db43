import { keepPreviousData, useMutation, useQuery } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useState } from 'react';
import type { Listing } from '../api/admin-types.js';
import { auditQuery, NO_FILTERS, type AuditFilters } from '../api/audit-query.js';
import type { AuditEntry, AuditVerification } from '../api/tenancy-types.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { ErrorNotice, Loaded } from '../components/status.js';

const PAGE_SIZE = 50;
const column = createColumnHelper<AuditEntry>();

const columns = [
  column.accessor('seq', { header: '#' }),
  column.accessor('at', { header: 'Time', cell: (info) => <LocalTime value={Date.parse(info.getValue())} /> }),
  column.accessor('actor', { header: 'Actor', cell: (info) => <code>{info.getValue()}</code> }),
  column.accessor('action', { header: 'Action' }),
  column.accessor('target', { header: 'Target', cell: (info) => <code>{info.getValue()}</code> }),
  column.accessor('source', { header: 'From' }),
  column.display({
    id: 'change',
    header: 'Change',
    cell: ({ row }) => (
      <details>
        <summary>before / after</summary>
        <pre className="audit-change">{JSON.stringify({ before: row.original.before, after: row.original.after }, null, 2)}</pre>
      </details>
    ),
  }),
];

/** The audit log, oldest first, a page at a time, filtered by action, target, actor and time; the operator verifies the chain here. */
export function AuditPage() {
  const { client } = usePortal();
  const identity = useIdentity();
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useCheckedForm<AuditFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<AuditFilters>(NO_FILTERS);
  // The seq each page shown so far started after: the last is this page's, the one before it the previous page's.
  const [cursors, setCursors] = useState<number[]>([0]);
  const afterSeq = cursors[cursors.length - 1];
  const built = auditQuery(filters, afterSeq, PAGE_SIZE);
  const query = 'query' in built ? built.query : '';
  const entries = useQuery({
    queryKey: ['audit', query],
    queryFn: () => client.admin<Listing<AuditEntry>>('GET', `/audit?${query}`),
    placeholderData: keepPreviousData,
  });
  const verify = useMutation({ mutationFn: () => client.admin<AuditVerification>('GET', '/audit/verify') });
  const apply = handleSubmit((draft) => {
    setFilters(draft);
    setCursors([0]);
  });
  const rows = entries.data?.data ?? [];
  const problem = errors.to?.message;
  const field = (name: keyof AuditFilters, label: string, type = 'text', placeholder = '') => (
    <div className="field">
      <label htmlFor={`audit-${name}`}>{label}</label>
      <input
        id={`audit-${name}`}
        type={type}
        placeholder={placeholder}
        {...(name === 'to' ? fieldAria(problem, 'audit-problem') : {})}
        {...register(
          name,
          // The filters are checked together (a time range the right way round) by the query's own rules.
          name === 'to' ? { validate: (_, draft) => problemOf(auditQuery(draft, 0, PAGE_SIZE)) } : undefined,
        )}
      />
    </div>
  );
  return (
    <section>
      <h1>Audit log</h1>
      {identity.operator ? (
        <div className="panel" role="region" aria-labelledby="verify-title">
          <h2 id="verify-title">Chain</h2>
          <p className="help">
            Every entry holds the hash of the one before it: verifying recomputes the chain and names any entry edited, inserted or deleted.
          </p>
          <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
            {verify.isPending ? 'Verifying…' : 'Verify chain'}
          </button>
          {verify.isError ? <ErrorNotice error={verify.error} /> : null}
          {verify.data ? <VerificationResult result={verify.data} /> : null}
        </div>
      ) : null}
      <form className="panel filters" onSubmit={(event) => void apply(event)} noValidate aria-label="Filter the audit log">
        {field('action', 'Action', 'text', 'e.g. keys.revoke')}
        {field('target', 'Target', 'text', 'e.g. project:proj_search')}
        {field('actor', 'Actor', 'text', 'master, user:…, key:…')}
        {field('from', 'From', 'datetime-local')}
        {field('to', 'To', 'datetime-local')}
        <FieldProblem id="audit-problem" problem={problem} />
        <div className="actions">
          <button
            type="button"
            onClick={() => {
              reset(NO_FILTERS);
              setFilters(NO_FILTERS);
              setCursors([0]);
            }}
          >
            Clear
          </button>
          <button type="submit" className="primary">
            Apply filters
          </button>
        </div>
      </form>
      <Loaded query={entries} what="audit entries">
        {() => (
          <>
            <DataTable rows={rows} columns={columns} caption="Audit entries" rowKey={(entry) => String(entry.seq)} empty="No entries match." />
            <nav className="actions" aria-label="Audit pages">
              <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous page
              </button>
              <span className="muted">Page {cursors.length}</span>
              <button type="button" disabled={rows.length < PAGE_SIZE} onClick={() => setCursors([...cursors, rows[rows.length - 1].seq])}>
                Next page
              </button>
            </nav>
          </>
        )}
      </Loaded>
    </section>
  );
}

function VerificationResult({ result }: { result: AuditVerification }) {
  if (result.ok) {
    return (
      <p className="notice ok" role="status">
        The chain is intact: {result.checked} entries checked{result.head ? `, up to ${result.head.head}` : ''}.
      </p>
    );
  }
  return (
    <div className="notice error" role="alert">
      <p>
        The chain is broken: {result.problems.length} problem{result.problems.length === 1 ? '' : 's'} in {result.checked} entries checked.
      </p>
      <ul>
        {result.problems.map((problem) => (
          <li key={`${problem.seq}:${problem.problem}`}>
            Entry {problem.seq} ({problem.problem}): {problem.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}
