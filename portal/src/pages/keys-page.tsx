import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Controller } from 'react-hook-form';
import { useNavigate, useParams } from 'react-router';
import type { ApiKey, CreatedKey, DeploymentPolicy, Listing, Project } from '../api/admin-types.js';
import { checkExpiry, keyStatus } from '../api/format.js';
import { may, mayAnywhere } from '../api/identity.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { CopyButton } from '../components/copy-button.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { ProjectPicker } from '../components/project-picker.js';
import { ErrorNotice, Loaded, Loading } from '../components/status.js';

/** The keys of one project, chosen from those the caller can see (`/keys/:project`). */
export function KeysPage() {
  const navigate = useNavigate();
  const { project: projectId } = useParams();
  return (
    <section>
      <h1>Keys</h1>
      <ProjectPicker id="project" value={projectId ?? ''} onChange={(id) => void navigate(`/keys/${encodeURIComponent(id)}`)}>
        {(projects) => {
          if (projectId === undefined) return null;
          const project = projects.find((candidate) => candidate.id === projectId);
          return project ? (
            <ProjectKeys key={project.id} project={project} />
          ) : (
            <ErrorNotice error={new Error(`There is no project "${projectId}" you can see.`)} />
          );
        }}
      </ProjectPicker>
    </section>
  );
}

const column = createColumnHelper<ApiKey>();

function ProjectKeys({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const target = { organization: project.organizationId, project: project.id };
  const manage = may(identity, 'keys:manage', target);
  const keys = useQuery({
    queryKey: ['projects', project.id, 'keys'],
    queryFn: () => client.admin<Listing<ApiKey>>('GET', `/projects/${encodeURIComponent(project.id)}/keys`),
  });
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const revoke = useMutation({
    mutationFn: (key: ApiKey) => client.admin<ApiKey>('POST', `/keys/${encodeURIComponent(key.id)}/revoke`),
    onSuccess: () => {
      setRevoking(null);
      return queryClient.invalidateQueries({ queryKey: ['projects', project.id, 'keys'] });
    },
  });
  const columns = useMemo(
    () => [
      column.accessor('name', { header: 'Name' }),
      column.accessor('prefix', { header: 'Key', cell: (info) => <code>{info.getValue()}…</code> }),
      column.accessor((key) => (key.deployments ? key.deployments.join(', ') : ''), {
        id: 'deployments',
        header: 'Deployments',
        cell: (info) => info.getValue() || <span className="muted">all</span>,
      }),
      column.accessor('createdAt', { header: 'Created', cell: (info) => <LocalTime value={info.getValue()} /> }),
      column.accessor((key) => key.expiresAt ?? Number.MAX_SAFE_INTEGER, {
        id: 'expires',
        header: 'Expires',
        cell: ({ row }) => <LocalTime value={row.original.expiresAt} fallback="never" />,
      }),
      column.accessor((key) => key.lastUsedAt ?? 0, {
        id: 'lastUsed',
        header: 'Last used',
        cell: ({ row }) => <LocalTime value={row.original.lastUsedAt} fallback="never" />,
      }),
      // Judged when the list arrives (it is refetched on every change and visit).
      column.accessor((key) => keyStatus(key, Date.now()), {
        id: 'status',
        header: 'Status',
        cell: (info) => <span className={`badge key-${info.getValue()}`}>{info.getValue()}</span>,
      }),
      ...(manage
        ? [
            column.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: ({ row }) =>
                row.original.revokedAt === null ? (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => setRevoking(row.original)}
                    aria-label={`Revoke ${row.original.name} (${row.original.prefix}…)`}
                  >
                    Revoke
                  </button>
                ) : null,
            }),
          ]
        : []),
    ],
    [manage],
  );
  return (
    <>
      <h2>
        {project.name} <span className="muted">({project.id})</span>
      </h2>
      {!project.keyAuthEnabled ? <p className="notice">Key authentication is off for this project: its keys are refused until it is turned on.</p> : null}
      {manage ? <CreateKey project={project} /> : null}
      <Loaded query={keys} what="keys">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption={`Keys of ${project.name}`}
            rowKey={(key) => key.id}
            empty={manage ? 'This project has no keys yet: create one above.' : 'This project has no keys yet.'}
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={revoking !== null}
        title="Revoke this key?"
        confirmLabel="Revoke key"
        busy={revoke.isPending}
        onConfirm={() => revoking && revoke.mutate(revoking)}
        onCancel={() => {
          setRevoking(null);
          revoke.reset();
        }}
      >
        <p>
          Every request with <code>{revoking?.prefix}…</code> ({revoking?.name}) is refused from now on. This cannot be undone.
        </p>
        {revoke.isError ? <ErrorNotice error={revoke.error} /> : null}
      </ConfirmDialog>
    </>
  );
}

/** The form that creates a key, and the new key shown once. */
function CreateKey({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const deployments = useQuery({
    queryKey: ['deployments'],
    queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments'),
    enabled: mayAnywhere(identity, 'deployments:read'),
  });
  const {
    register,
    control,
    handleSubmit,
    reset,
    setError,
    formState: { errors },
  } = useCheckedForm<{ name: string; deployments: string[]; expires: string }>({ name: '', deployments: [], expires: '' });
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) => client.admin<CreatedKey>('POST', `/projects/${encodeURIComponent(project.id)}/keys`, body),
    onSuccess: (key) => {
      setCreated(key);
      reset();
      return queryClient.invalidateQueries({ queryKey: ['projects', project.id, 'keys'] });
    },
  });
  const submit = handleSubmit(({ name, deployments: chosen, expires }) => {
    // Checked by the field's rule just now; judged again for the value to send (a duration as typed, a date as ISO),
    // and refused if a date passed meanwhile.
    const expiry = checkExpiry(expires, Date.now());
    if ('problem' in expiry) {
      setError('expires', { type: 'validate', message: expiry.problem }, { shouldFocus: true });
      return;
    }
    create.mutate({
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(chosen.length > 0 ? { deployments: chosen } : {}),
      ...(expiry.value ? { expires: expiry.value } : {}),
    });
  });
  if (created) {
    return (
      <div className="panel new-key" role="region" aria-labelledby="new-key-title">
        <h3 id="new-key-title">New key “{created.name}”</h3>
        <p>Copy it now: it is shown this once and Cerulean keeps only its hash.</p>
        <div className="secret-row">
          <input className="secret" readOnly value={created.key} aria-label="The new key" onFocus={(event) => event.target.select()} />
          <CopyButton text={created.key} />
        </div>
        <button type="button" onClick={() => setCreated(null)}>
          I have stored it
        </button>
      </div>
    );
  }
  const options = deployments.data?.data ?? [];
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="create-key-title">
      <h3 id="create-key-title">Create a key</h3>
      <div className="field">
        <label htmlFor="key-name">Name</label>
        <input id="key-name" maxLength={200} placeholder="key" {...register('name')} />
      </div>
      <fieldset className="field">
        <legend>Deployments it may call</legend>
        {deployments.isPending && deployments.fetchStatus !== 'idle' ? (
          <Loading what="deployments" />
        ) : options.length === 0 ? (
          <p className="help">All of the project&apos;s deployments.</p>
        ) : (
          <Controller
            control={control}
            name="deployments"
            render={({ field }) => (
              <div className="choices">
                {options.map(({ deployment }) => (
                  <label key={deployment} className="choice">
                    <input
                      type="checkbox"
                      checked={field.value.includes(deployment)}
                      onChange={(event) =>
                        field.onChange(event.target.checked ? [...field.value, deployment] : field.value.filter((chosen) => chosen !== deployment))
                      }
                      onBlur={field.onBlur}
                    />{' '}
                    {deployment}
                  </label>
                ))}
                <p className="help">None ticked: every deployment.</p>
              </div>
            )}
          />
        )}
      </fieldset>
      <div className="field">
        <label htmlFor="key-expires">Expires</label>
        <input
          id="key-expires"
          placeholder="never (or 30d, 12h, 2w, 2030-01-31)"
          {...fieldAria(errors.expires?.message, 'key-expires-problem')}
          {...register('expires', { validate: (value) => problemOf(checkExpiry(value, Date.now())) })}
        />
        <FieldProblem id="key-expires-problem" problem={errors.expires?.message} />
      </div>
      {create.isError ? <ErrorNotice error={create.error} /> : null}
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create key'}
      </button>
    </form>
  );
}
