import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { Navigate, NavLink, useNavigate, useParams } from 'react-router';
import type { DeploymentPolicy, Listing, Project } from '../api/admin-types.js';
import {
  checkTerm,
  describePolicy,
  type Blocklist,
  type BlocklistTerm,
  type FilterPolicyName,
  type ProjectFilterPolicy,
  type TermKind,
} from '../api/governance.js';
import { may, mayAnywhere, type Identity } from '../api/identity.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { ProjectPicker } from '../components/project-picker.js';
import { Empty, ErrorNotice, Loaded, Loading } from '../components/status.js';
import { AbuseReviews } from './abuse-reviews.js';

const SECTIONS = [
  { id: 'policies', label: 'Filter policies', visible: (identity: Identity) => mayAnywhere(identity, 'safety:read') },
  { id: 'blocklists', label: 'Blocklists', visible: (identity: Identity) => mayAnywhere(identity, 'safety:read') },
  { id: 'reviews', label: 'Abuse reviews', visible: (identity: Identity) => mayAnywhere(identity, 'abuse:read') },
] as const;

/**
 * Content safety, one section at a time (`/safety/:section/:project`): which filter policy applies
 * per deployment and a project's own choices, a project's custom blocklists and their terms, and
 * the abuse review queue.
 */
export function SafetyPage() {
  const identity = useIdentity();
  const navigate = useNavigate();
  const { section, project: projectId } = useParams();
  const sections = SECTIONS.filter((candidate) => candidate.visible(identity));
  if (sections.length === 0)
    return (
      <section>
        <h1>Content safety</h1>
        <Empty>Your roles do not include reading content-safety settings.</Empty>
      </section>
    );
  const current = sections.find((candidate) => candidate.id === section);
  if (!current) return <Navigate to={`/safety/${sections[0].id}`} replace />;
  const choose = (id: string) => void navigate(`/safety/${current.id}/${encodeURIComponent(id)}`);
  return (
    <section>
      <h1>Content safety</h1>
      <nav className="tabs" aria-label="Content safety sections">
        {sections.map((candidate) => (
          <NavLink key={candidate.id} to={`/safety/${candidate.id}${projectId ? `/${encodeURIComponent(projectId)}` : ''}`}>
            {candidate.label}
          </NavLink>
        ))}
      </nav>
      {current.id === 'reviews' ? (
        <AbuseReviews projectId={projectId} onProject={choose} />
      ) : (
        <>
          {current.id === 'policies' ? (
            <>
              <ConfiguredPolicies />
              <h2>A project&apos;s own choices</h2>
            </>
          ) : null}
          <ProjectPicker id="safety-project" value={projectId ?? ''} onChange={choose}>
            {(projects) => {
              if (projectId === undefined) return null;
              const project = projects.find((candidate) => candidate.id === projectId);
              if (!project) return <ErrorNotice error={new Error(`There is no project "${projectId}" you can see.`)} />;
              return current.id === 'policies' ? (
                <ProjectPolicies key={project.id} project={project} />
              ) : (
                <ProjectBlocklists key={project.id} project={project} />
              );
            }}
          </ProjectPicker>
        </>
      )}
    </section>
  );
}

/** The policy the configuration gives each deployment (`content_safety.deployments`, else `default`). */
function ConfiguredPolicies() {
  const { client } = usePortal();
  const deployments = useQuery({ queryKey: ['deployments'], queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments') });
  return (
    <>
      <h2>Configured for each deployment</h2>
      <p className="help">From the configuration; a project&apos;s own choice below takes precedence on its requests.</p>
      <Loaded query={deployments} what="deployments">
        {(data) => (
          <DataTable
            rows={data.data}
            caption="Content-filter policy per deployment"
            rowKey={(deployment) => deployment.deployment}
            empty="No deployment is configured."
            columns={[
              { accessorKey: 'deployment', header: 'Deployment' },
              { accessorKey: 'content_filter', header: 'Policy', cell: (info) => describePolicy(String(info.getValue())) },
            ]}
          />
        )}
      </Loaded>
    </>
  );
}

const choiceColumn = createColumnHelper<ProjectFilterPolicy>();

/** A project's own policy per deployment ('*': every deployment without its own): listed, set, removed. */
function ProjectPolicies({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const manage = may(identity, 'safety:manage', { organization: project.organizationId, project: project.id });
  const queryKey = ['projects', project.id, 'content-filters'];
  const choices = useQuery({
    queryKey,
    queryFn: () => client.admin<Listing<ProjectFilterPolicy>>('GET', `/projects/${encodeURIComponent(project.id)}/content-filters`),
  });
  const [removing, setRemoving] = useState<ProjectFilterPolicy | null>(null);
  const remove = useMutation({
    mutationFn: (choice: ProjectFilterPolicy) =>
      client.admin('DELETE', `/projects/${encodeURIComponent(project.id)}/content-filters/${encodeURIComponent(choice.deployment)}`),
    onSuccess: () => {
      setRemoving(null);
      return queryClient.invalidateQueries({ queryKey });
    },
  });
  const columns = useMemo(
    () => [
      choiceColumn.accessor('deployment', {
        header: 'Deployment',
        cell: (info) => (info.getValue() === '*' ? 'every other deployment (*)' : info.getValue()),
      }),
      choiceColumn.accessor('policy', { header: 'Policy', cell: (info) => describePolicy(info.getValue()) }),
      choiceColumn.accessor('updatedAt', { header: 'Set', cell: (info) => <LocalTime value={info.getValue()} /> }),
      ...(manage
        ? [
            choiceColumn.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: ({ row }) =>
                row.original.policy === 'none' && !identity.operator ? null : (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => setRemoving(row.original)}
                    aria-label={`Remove the choice for ${row.original.deployment}`}
                  >
                    Remove
                  </button>
                ),
            }),
          ]
        : []),
    ],
    [manage, identity.operator],
  );
  return (
    <>
      <h3>Choices of {project.name}</h3>
      {manage ? <SetPolicy project={project} /> : null}
      <Loaded query={choices} what="the project's choices">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption={`Content-filter choices of ${project.name}`}
            rowKey={(choice) => choice.deployment}
            empty="This project uses the configured policy on every deployment."
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={removing !== null}
        title="Remove this choice?"
        confirmLabel="Remove choice"
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing)}
        onCancel={() => {
          setRemoving(null);
          remove.reset();
        }}
      >
        <p>
          {project.name}&apos;s requests to{' '}
          {removing?.deployment === '*' ? 'deployments without a choice of their own' : <strong>{removing?.deployment}</strong>} are filtered by the configured
          policy again instead of <strong>{removing?.policy}</strong>.
        </p>
        {remove.isError ? <ErrorNotice error={remove.error} /> : null}
      </ConfirmDialog>
    </>
  );
}

function SetPolicy({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const deployments = useQuery({ queryKey: ['deployments'], queryFn: () => client.admin<Listing<DeploymentPolicy>>('GET', '/deployments') });
  const policies = useQuery({
    queryKey: ['content-filter-policies'],
    queryFn: () => client.admin<Listing<FilterPolicyName>>('GET', '/content-filter-policies'),
  });
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useCheckedForm<{ deployment: string; policy: string }>({ deployment: '', policy: '' });
  const set = useMutation({
    mutationFn: ({ deployment, policy }: { deployment: string; policy: string }) =>
      client.admin<ProjectFilterPolicy>('PUT', `/projects/${encodeURIComponent(project.id)}/content-filters/${encodeURIComponent(deployment)}`, { policy }),
    onSuccess: () => {
      reset();
      return queryClient.invalidateQueries({ queryKey: ['projects', project.id, 'content-filters'] });
    },
  });
  if (deployments.isPending || policies.isPending) return <Loading what="deployments and policies" />;
  if (deployments.isError) return <ErrorNotice error={deployments.error} />;
  if (policies.isError) return <ErrorNotice error={policies.error} />;
  const offered = policies.data.data.filter((candidate) => identity.operator || !candidate.operator_only);
  const submit = handleSubmit((values) => set.mutate(values));
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="set-policy-title">
      <h3 id="set-policy-title">Choose a policy</h3>
      <div className="field">
        <label htmlFor="policy-deployment">Deployment</label>
        <select
          id="policy-deployment"
          {...fieldAria(errors.deployment?.message, 'policy-deployment-problem')}
          {...register('deployment', { validate: (value) => value !== '' || 'Choose the deployment.' })}
        >
          <option value="">Choose a deployment…</option>
          <option value="*">every deployment without its own choice (*)</option>
          {deployments.data.data.map((candidate) => (
            <option key={candidate.deployment} value={candidate.deployment}>
              {candidate.deployment}
            </option>
          ))}
        </select>
        <FieldProblem id="policy-deployment-problem" problem={errors.deployment?.message} />
      </div>
      <div className="field">
        <label htmlFor="policy-name">Policy</label>
        <select
          id="policy-name"
          {...fieldAria(errors.policy?.message, 'policy-name-problem')}
          {...register('policy', { validate: (value) => value !== '' || 'Choose the policy.' })}
        >
          <option value="">Choose a policy…</option>
          {offered.map((candidate) => (
            <option key={candidate.name} value={candidate.name}>
              {describePolicy(candidate.name)}
            </option>
          ))}
        </select>
        <FieldProblem id="policy-name-problem" problem={errors.policy?.message} />
      </div>
      {set.isError ? <ErrorNotice error={set.error} /> : null}
      <button type="submit" className="primary" disabled={set.isPending}>
        {set.isPending ? 'Saving…' : 'Use this policy'}
      </button>
    </form>
  );
}

/** A project's custom blocklists, each with its terms. */
function ProjectBlocklists({ project }: { project: Project }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const manage = may(identity, 'safety:manage', { organization: project.organizationId, project: project.id });
  const queryKey = ['projects', project.id, 'blocklists'];
  const lists = useQuery({
    queryKey,
    queryFn: () => client.admin<Listing<Blocklist>>('GET', `/projects/${encodeURIComponent(project.id)}/blocklists`),
  });
  const [deleting, setDeleting] = useState<Blocklist | null>(null);
  const remove = useMutation({
    mutationFn: (list: Blocklist) => client.admin('DELETE', `/blocklists/${encodeURIComponent(list.id)}`),
    onSuccess: () => {
      setDeleting(null);
      return queryClient.invalidateQueries({ queryKey });
    },
  });
  return (
    <>
      <h2>Blocklists of {project.name}</h2>
      <p className="help">Prompts and completions of the project that contain a term are blocked, whichever policy filters them.</p>
      {manage ? <CreateBlocklist project={project} /> : null}
      {lists.isPending ? (
        <Loading what="blocklists" />
      ) : lists.isError ? (
        <ErrorNotice error={lists.error} />
      ) : lists.data.data.length === 0 ? (
        <Empty>{manage ? 'This project has no blocklist yet: create one above.' : 'This project has no blocklist.'}</Empty>
      ) : (
        lists.data.data.map((list) => (
          <BlocklistPanel
            key={list.id}
            list={list}
            manage={manage}
            onDelete={() => setDeleting(list)}
            onChange={() => queryClient.invalidateQueries({ queryKey })}
          />
        ))
      )}
      <ConfirmDialog
        open={deleting !== null}
        title="Delete this blocklist?"
        confirmLabel="Delete blocklist"
        busy={remove.isPending}
        onConfirm={() => deleting && remove.mutate(deleting)}
        onCancel={() => {
          setDeleting(null);
          remove.reset();
        }}
      >
        <p>
          <strong>{deleting?.name}</strong> and its {deleting?.terms.length ?? 0} terms are deleted; what they blocked passes again. This cannot be undone.
        </p>
        {remove.isError ? <ErrorNotice error={remove.error} /> : null}
      </ConfirmDialog>
    </>
  );
}

function CreateBlocklist({ project }: { project: Project }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors },
  } = useCheckedForm<{ name: string }>({ name: '' });
  const create = useMutation({
    mutationFn: (value: string) => client.admin<Blocklist>('POST', `/projects/${encodeURIComponent(project.id)}/blocklists`, { name: value }),
    onSuccess: () => {
      reset();
      return queryClient.invalidateQueries({ queryKey: ['projects', project.id, 'blocklists'] });
    },
  });
  const submit = handleSubmit(({ name }) => create.mutate(name.trim()));
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="create-blocklist-title">
      <h3 id="create-blocklist-title">Create a blocklist</h3>
      <div className="field">
        <label htmlFor="blocklist-name">Name</label>
        <input
          id="blocklist-name"
          maxLength={200}
          {...fieldAria(errors.name?.message, 'blocklist-name-problem')}
          {...register('name', { validate: (value) => value.trim() !== '' || 'Give the blocklist a name.' })}
        />
        <FieldProblem id="blocklist-name-problem" problem={errors.name?.message} />
      </div>
      {create.isError ? <ErrorNotice error={create.error} /> : null}
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create blocklist'}
      </button>
    </form>
  );
}

const termColumn = createColumnHelper<BlocklistTerm>();

function BlocklistPanel({ list, manage, onDelete, onChange }: { list: Blocklist; manage: boolean; onDelete: () => void; onChange: () => Promise<void> }) {
  const { client } = usePortal();
  const {
    register,
    handleSubmit,
    resetField,
    formState: { errors },
  } = useCheckedForm<{ kind: TermKind; value: string }>({ kind: 'exact', value: '' });
  const problem = errors.value?.message;
  const add = useMutation({
    mutationFn: (body: { kind: TermKind; value: string }) => client.admin<BlocklistTerm>('POST', `/blocklists/${encodeURIComponent(list.id)}/terms`, body),
    onSuccess: () => {
      // The kind stays as chosen, for the next term.
      resetField('value');
      return onChange();
    },
  });
  const remove = useMutation({
    mutationFn: (term: BlocklistTerm) => client.admin('DELETE', `/blocklists/${encodeURIComponent(list.id)}/terms/${encodeURIComponent(term.id)}`),
    onSuccess: () => onChange(),
  });
  const columns = useMemo(
    () => [
      termColumn.accessor('kind', { header: 'Kind' }),
      termColumn.accessor('value', { header: 'Term', cell: (info) => <code>{info.getValue()}</code> }),
      termColumn.accessor('createdAt', { header: 'Added', cell: (info) => <LocalTime value={info.getValue()} /> }),
      ...(manage
        ? [
            termColumn.display({
              id: 'actions',
              header: () => <span className="visually-hidden">Actions</span>,
              cell: ({ row }) => (
                <button
                  type="button"
                  className="danger"
                  disabled={remove.isPending}
                  onClick={() => remove.mutate(row.original)}
                  aria-label={`Remove the term ${row.original.value}`}
                >
                  Remove
                </button>
              ),
            }),
          ]
        : []),
    ],
    [manage, remove],
  );
  const submit = handleSubmit(({ kind, value }) => {
    // Checked by the field's rule; sent as the rule normalises it (an exact term's spaces).
    const checked = checkTerm(kind, value);
    if ('value' in checked) add.mutate({ kind, value: checked.value });
  });
  const fieldId = `term-${list.id}`;
  return (
    <div className="panel" role="region" aria-label={`Blocklist ${list.name}`}>
      <h3>
        {list.name} <span className="muted">({list.id})</span>
      </h3>
      <DataTable
        rows={list.terms}
        columns={columns}
        caption={`Terms of ${list.name}`}
        rowKey={(term) => term.id}
        empty={manage ? 'No term yet: add one below.' : 'No term yet.'}
      />
      {remove.isError ? <ErrorNotice error={remove.error} /> : null}
      {manage ? (
        <>
          <form className="filters" onSubmit={(event) => void submit(event)} noValidate aria-label={`Add a term to ${list.name}`}>
            <div className="field">
              <label htmlFor={`${fieldId}-kind`}>Kind</label>
              <select id={`${fieldId}-kind`} {...register('kind')}>
                <option value="exact">exact (whole words, any case)</option>
                <option value="regex">regex (ECMAScript pattern)</option>
              </select>
            </div>
            <div className="field">
              <label htmlFor={`${fieldId}-value`}>Term</label>
              <input
                id={`${fieldId}-value`}
                maxLength={500}
                {...fieldAria(problem, `${fieldId}-problem`)}
                {...register('value', { validate: (value, { kind }) => problemOf(checkTerm(kind, value)) })}
              />
            </div>
            <button type="submit" disabled={add.isPending}>
              {add.isPending ? 'Adding…' : 'Add term'}
            </button>
          </form>
          <FieldProblem id={`${fieldId}-problem`} problem={problem} />
          {add.isError ? <ErrorNotice error={add.error} /> : null}
          <div className="actions">
            <button type="button" className="danger" onClick={onDelete}>
              Delete blocklist
            </button>
          </div>
        </>
      ) : null}
    </div>
  );
}
