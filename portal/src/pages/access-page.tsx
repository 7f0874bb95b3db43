import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { DeploymentPolicy, Listing, Project } from '../api/admin-types.js';
import { checkUseCase, type AccessRequest, type AccessRequestStatus } from '../api/governance.js';
import { may } from '../api/identity.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { ProjectPicker } from '../components/project-picker.js';
import { Empty, ErrorNotice, Loaded, Loading } from '../components/status.js';

/**
 * Limited access to gated deployments: a project applies with its use case and follows its
 * requests (`/access/:project`); the service operator decides them from the review queue.
 */
export function AccessPage() {
  const navigate = useNavigate();
  const identity = useIdentity();
  const { project: projectId } = useParams();
  return (
    <section>
      <h1>Limited access</h1>
      <p className="help">Gated deployments answer only projects whose request for access was approved by the service operator.</p>
      {identity.operator ? <ReviewQueue /> : null}
      <h2>{identity.operator ? 'A project’s requests' : 'Your projects’ requests'}</h2>
      <ProjectPicker id="access-project" value={projectId ?? ''} onChange={(id) => void navigate(`/access/${encodeURIComponent(id)}`)}>
        {(projects) => {
          if (projectId === undefined) return null;
          const project = projects.find((candidate) => candidate.id === projectId);
          return project ? (
            <ProjectAccess key={project.id} project={project} />
          ) : (
            <ErrorNotice error={new Error(`There is no project "${projectId}" you can see.`)} />
          );
        }}
      </ProjectPicker>
    </section>
  );
}

function StatusBadge({ status }: { status: AccessRequestStatus }) {
  return <span className={`badge access-${status}`}>{status}</span>;
}

const column = createColumnHelper<AccessRequest>();

/** The columns both lists share: what was asked, when, and what became of it. */
function requestColumns(withProject: boolean) {
  return [
    ...(withProject ? [column.accessor('projectId', { header: 'Project', cell: (info) => <code>{info.getValue()}</code> })] : []),
    column.accessor('deployment', { header: 'Deployment' }),
    column.accessor('useCase', { header: 'Use case', enableSorting: false, cell: (info) => <span className="use-case">{info.getValue()}</span> }),
    column.accessor('status', { header: 'Status', cell: (info) => <StatusBadge status={info.getValue()} /> }),
    column.accessor('createdAt', { header: 'Requested', cell: (info) => <LocalTime value={info.getValue()} /> }),
    column.accessor((request) => request.decidedAt ?? 0, {
      id: 'decided',
      header: 'Decided',
      cell: ({ row }) =>
        row.original.decidedAt === null ? (
          <span className="muted">not yet</span>
        ) : (
          <>
            <LocalTime value={row.original.decidedAt} /> by {row.original.decidedBy ?? 'unknown'}
            {row.original.reason ? <div className="muted">“{row.original.reason}”</div> : null}
          </>
        ),
    }),
  ];
}

function ProjectAccess({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const apply = may(identity, 'access:apply', { organization: project.organizationId, project: project.id });
  const requests = useQuery({
    queryKey: ['access-requests', { project: project.id }],
    queryFn: () => client.admin<Listing<AccessRequest>>('GET', `/access-requests?project=${encodeURIComponent(project.id)}`),
    enabled: apply,
  });
  const columns = useMemo(() => requestColumns(false), []);
  if (!apply) return <Empty>Your roles on {project.name} do not include applying for limited access (owner, admin or contributor do).</Empty>;
  return (
    <>
      <ApplyForm project={project} requests={requests.data?.data ?? []} />
      <h3>Requests of {project.name}</h3>
      <Loaded query={requests} what="access requests">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption={`Access requests of ${project.name}`}
            rowKey={(request) => request.id}
            empty="This project has not applied for any gated deployment yet."
          />
        )}
      </Loaded>
    </>
  );
}

/** Applying for one of the gated deployments the project has no open request for. */
function ApplyForm({ project, requests }: { project: Project; requests: readonly AccessRequest[] }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const deployments = useQuery({ queryKey: ['deployments'], queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments') });
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useCheckedForm<{ deployment: string; useCase: string }>({ deployment: '', useCase: '' });
  const [sent, setSent] = useState<AccessRequest | null>(null);
  const send = useMutation({
    mutationFn: (body: { deployment: string; use_case: string }) =>
      client.admin<AccessRequest>('POST', `/projects/${encodeURIComponent(project.id)}/access-requests`, body),
    onSuccess: (request) => {
      setSent(request);
      reset();
      return queryClient.invalidateQueries({ queryKey: ['access-requests'] });
    },
  });
  if (deployments.isPending) return <Loading what="deployments" />;
  if (deployments.isError) return <ErrorNotice error={deployments.error} />;
  const gated = deployments.data.data.filter((candidate) => candidate.gated).map((candidate) => candidate.deployment);
  if (gated.length === 0) return <Empty>No deployment is gated: every project may call every deployment its keys allow.</Empty>;
  const open = new Map(requests.filter((request) => request.status !== 'rejected').map((request) => [request.deployment, request.status]));
  const submit = handleSubmit(({ deployment, useCase }) => {
    const checked = checkUseCase(useCase);
    if ('problem' in checked) return;
    setSent(null);
    send.mutate({ deployment, use_case: checked.value });
  });
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="apply-title">
      <h3 id="apply-title">Apply for access</h3>
      <div className="field">
        <label htmlFor="apply-deployment">Gated deployment</label>
        <select
          id="apply-deployment"
          {...fieldAria(errors.deployment?.message, 'apply-deployment-problem')}
          {...register('deployment', { validate: (value) => value !== '' || 'Choose the deployment to apply for.' })}
        >
          <option value="">Choose a deployment…</option>
          {gated.map((name) => (
            <option key={name} value={name} disabled={open.has(name)}>
              {name}
              {open.has(name) ? ` (${open.get(name)})` : ''}
            </option>
          ))}
        </select>
        <FieldProblem id="apply-deployment-problem" problem={errors.deployment?.message} />
      </div>
      <div className="field">
        <label htmlFor="apply-use-case">Use case</label>
        <textarea
          id="apply-use-case"
          rows={4}
          maxLength={5000}
          {...fieldAria(errors.useCase?.message, 'apply-problem', 'apply-help')}
          {...register('useCase', { validate: (value) => problemOf(checkUseCase(value)) })}
        />
        <p id="apply-help" className="help">
          What the project will use the deployment for, in 20 characters or more; the operator reads it before deciding.
        </p>
        <FieldProblem id="apply-problem" problem={errors.useCase?.message} />
      </div>
      {send.isError ? <ErrorNotice error={send.error} /> : null}
      {sent ? (
        <p className="notice ok" role="status">
          Applied for {sent.deployment}: the request is {sent.status}.
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={send.isPending}>
        {send.isPending ? 'Applying…' : 'Apply for access'}
      </button>
    </form>
  );
}

type Decision = { request: AccessRequest; verb: 'approve' | 'reject' };

/** The operator's queue: every project's requests by status, approved or rejected with an optional note. */
function ReviewQueue() {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<AccessRequestStatus | ''>('pending');
  const requests = useQuery({
    queryKey: ['access-requests', { status }],
    queryFn: () => client.admin<Listing<AccessRequest>>('GET', `/access-requests${status ? `?status=${status}` : ''}`),
  });
  const [deciding, setDeciding] = useState<Decision | null>(null);
  // The decision's optional note: a form of one field, with nothing to check.
  const { register, getValues, reset } = useCheckedForm<{ note: string }>({ note: '' });
  const decide = useMutation({
    mutationFn: ({ request, verb }: Decision) => {
      const note = getValues('note').trim();
      return client.admin<AccessRequest>('POST', `/access-requests/${encodeURIComponent(request.id)}/${verb}`, note ? { reason: note } : {});
    },
    onSuccess: () => {
      setDeciding(null);
      reset();
      return queryClient.invalidateQueries({ queryKey: ['access-requests'] });
    },
  });
  const columns = useMemo(
    () => [
      ...requestColumns(true),
      column.display({
        id: 'actions',
        header: () => <span className="visually-hidden">Decision</span>,
        cell: ({ row }) =>
          row.original.status === 'pending' ? (
            <div className="row-actions">
              <button
                type="button"
                onClick={() => setDeciding({ request: row.original, verb: 'approve' })}
                aria-label={`Approve ${row.original.projectId} on ${row.original.deployment}`}
              >
                Approve
              </button>
              <button
                type="button"
                className="danger"
                onClick={() => setDeciding({ request: row.original, verb: 'reject' })}
                aria-label={`Reject ${row.original.projectId} on ${row.original.deployment}`}
              >
                Reject
              </button>
            </div>
          ) : null,
      }),
    ],
    [],
  );
  const close = () => {
    setDeciding(null);
    reset();
    decide.reset();
  };
  return (
    <>
      <h2>Review queue</h2>
      <div className="field inline">
        <label htmlFor="access-status">Status</label>
        <select id="access-status" value={status} onChange={(event) => setStatus(event.target.value as AccessRequestStatus | '')}>
          <option value="pending">pending</option>
          <option value="approved">approved</option>
          <option value="rejected">rejected</option>
          <option value="">any</option>
        </select>
      </div>
      <Loaded query={requests} what="access requests">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption="Access requests to review"
            rowKey={(request) => request.id}
            empty={status === 'pending' ? 'No request is waiting for a decision.' : 'No request in this state.'}
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={deciding !== null}
        title={deciding?.verb === 'approve' ? 'Approve this request?' : 'Reject this request?'}
        confirmLabel={deciding?.verb === 'approve' ? 'Approve access' : 'Reject request'}
        busy={decide.isPending}
        onConfirm={() => deciding && decide.mutate(deciding)}
        onCancel={close}
      >
        <p>
          Project <code>{deciding?.request.projectId}</code> {deciding?.verb === 'approve' ? 'may call ' : 'stays without access to '}
          <strong>{deciding?.request.deployment}</strong>
          {deciding?.verb === 'approve' ? ' from now on.' : '; it may apply again.'}
        </p>
        <div className="field">
          <label htmlFor="access-note">Note (optional, recorded with the decision)</label>
          <textarea id="access-note" rows={2} maxLength={2000} {...register('note')} />
        </div>
        {decide.isError ? <ErrorNotice error={decide.error} /> : null}
      </ConfirmDialog>
    </>
  );
}
