import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { useWatch } from 'react-hook-form';
import { Link, useNavigate, useParams } from 'react-router';
import type { Listing, Project } from '../api/admin-types.js';
import { may, mayAnywhere } from '../api/identity.js';
import { ROLES, type Member, type Organization, type Role, type User } from '../api/tenancy-types.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DataTable } from '../components/data-table.js';
import { FieldProblem, fieldAria, problemOf, useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { Empty, ErrorNotice, Loaded, Loading } from '../components/status.js';

/** A display name as the admin API accepts it: 1 to 200 characters once trimmed; the problem, or null. */
export function nameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return 'Give it a name.';
  if (trimmed.length > 200) return 'At most 200 characters.';
  return null;
}

const projectColumn = createColumnHelper<Project>();

/** Projects the caller can see, creating one, and one project's name and members (`/projects/:project`). */
export function ProjectsPage() {
  const { client } = usePortal();
  const identity = useIdentity();
  const { project: projectId } = useParams();
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => client.admin<Listing<Project>>('GET', '/projects') });
  const columns = useMemo(
    () => [
      projectColumn.accessor('name', {
        header: 'Name',
        cell: (info) => <Link to={`/projects/${encodeURIComponent(info.row.original.id)}`}>{info.getValue()}</Link>,
      }),
      projectColumn.accessor('id', { header: 'Id', cell: (info) => <code>{info.getValue()}</code> }),
      projectColumn.accessor('organizationId', { header: 'Organization' }),
      projectColumn.accessor((project) => (project.keyAuthEnabled ? 'keys and tokens' : 'tokens only'), { id: 'auth', header: 'Sign-in' }),
      projectColumn.accessor('createdAt', { header: 'Created', cell: (info) => <LocalTime value={info.getValue()} /> }),
    ],
    [],
  );
  const project = projects.data?.data.find((candidate) => candidate.id === projectId);
  return (
    <section>
      <h1>Projects</h1>
      {mayAnywhere(identity, 'projects:manage') ? <CreateProject /> : null}
      <Loaded query={projects} what="projects">
        {(data) => (
          <>
            <DataTable rows={data.data} columns={columns} caption="Projects" rowKey={(row) => row.id} empty="There is no project you can see yet." />
            {projectId === undefined ? null : project ? (
              <ProjectDetail key={project.id} project={project} />
            ) : (
              <ErrorNotice error={new Error(`There is no project "${projectId}" you can see.`)} />
            )}
          </>
        )}
      </Loaded>
    </section>
  );
}

/** The form that creates a project in an organization the caller manages projects of. */
function CreateProject() {
  const { client } = usePortal();
  const identity = useIdentity();
  const organizations = useQuery({ queryKey: ['organizations'], queryFn: () => client.admin<Listing<Organization>>('GET', '/organizations') });
  if (organizations.isPending) return <Loading what="organizations" />;
  if (organizations.isError) return <ErrorNotice error={organizations.error} />;
  const choices = organizations.data.data.filter((candidate) => may(identity, 'projects:manage', { organization: candidate.id }));
  if (choices.length === 0) return null;
  return <CreateProjectForm choices={choices} />;
}

function CreateProjectForm({ choices }: { choices: readonly Organization[] }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const {
    register,
    handleSubmit,
    resetField,
    formState: { errors },
  } = useCheckedForm<{ organization: string; name: string }>({ organization: choices[0].id, name: '' });
  const create = useMutation({
    mutationFn: (body: { organization: string; name: string }) => client.admin<Project>('POST', '/projects', body),
    onSuccess: async (project) => {
      resetField('name');
      await queryClient.invalidateQueries({ queryKey: ['projects'] });
      await navigate(`/projects/${encodeURIComponent(project.id)}`);
    },
  });
  const submit = handleSubmit(({ organization, name }) => create.mutate({ organization, name: name.trim() }));
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="create-project-title">
      <h2 id="create-project-title">Create a project</h2>
      <div className="field">
        <label htmlFor="project-organization">Organization</label>
        <select
          id="project-organization"
          {...fieldAria(errors.organization?.message, 'project-organization-problem')}
          {...register('organization', { validate: (value) => value !== '' || 'Choose an organization.' })}
        >
          {choices.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.name} ({candidate.id})
            </option>
          ))}
        </select>
        <FieldProblem id="project-organization-problem" problem={errors.organization?.message} />
      </div>
      <div className="field">
        <label htmlFor="project-name">Name</label>
        <input
          id="project-name"
          maxLength={200}
          {...fieldAria(errors.name?.message, 'project-name-problem')}
          {...register('name', { validate: (value) => problemOf(nameProblem(value)) })}
        />
        <FieldProblem id="project-name-problem" problem={errors.name?.message} />
      </div>
      {create.isError ? <ErrorNotice error={create.error} /> : null}
      <button type="submit" className="primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create project'}
      </button>
    </form>
  );
}

function ProjectDetail({ project }: { project: Project }) {
  const identity = useIdentity();
  const target = { organization: project.organizationId, project: project.id };
  return (
    <>
      <h2>
        {project.name} <span className="muted">({project.id})</span>
      </h2>
      <p>
        <Link to={`/keys/${encodeURIComponent(project.id)}`}>Keys of this project</Link>
      </p>
      {may(identity, 'projects:manage', target) ? <RenameProject project={project} /> : null}
      {may(identity, 'users:manage', target) ? <Members project={project} /> : null}
    </>
  );
}

function RenameProject({ project }: { project: Project }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const {
    register,
    control,
    handleSubmit,
    formState: { errors },
  } = useCheckedForm<{ name: string }>({ name: project.name });
  const name = useWatch({ control, name: 'name' });
  const rename = useMutation({
    mutationFn: (next: string) => client.admin<Project>('PATCH', `/projects/${encodeURIComponent(project.id)}`, { name: next }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['projects'] }),
  });
  const submit = handleSubmit((values) => rename.mutate(values.name.trim()));
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="rename-title">
      <h3 id="rename-title">Rename</h3>
      <div className="field">
        <label htmlFor="rename-name">Name</label>
        <input
          id="rename-name"
          maxLength={200}
          {...fieldAria(errors.name?.message, 'rename-problem')}
          {...register('name', { validate: (value) => problemOf(nameProblem(value)) })}
        />
        <FieldProblem id="rename-problem" problem={errors.name?.message} />
      </div>
      {rename.isError ? <ErrorNotice error={rename.error} /> : null}
      {rename.isSuccess && rename.data.name === name.trim() ? <p className="help">Renamed.</p> : null}
      <button type="submit" disabled={rename.isPending}>
        {rename.isPending ? 'Renaming…' : 'Rename project'}
      </button>
    </form>
  );
}

const memberColumn = createColumnHelper<Member>();

/** Who holds a role on the project; giving a user of the organization a role here, and taking a project role away. */
function Members({ project }: { project: Project }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const membersKey = ['projects', project.id, 'members'];
  const members = useQuery({
    queryKey: membersKey,
    queryFn: () => client.admin<Listing<Member>>('GET', `/projects/${encodeURIComponent(project.id)}/members`),
  });
  const [removing, setRemoving] = useState<Member | null>(null);
  const remove = useMutation({
    mutationFn: (member: Member) =>
      client.admin('DELETE', `/users/${encodeURIComponent(member.user)}/roles?scope=project&scope_id=${encodeURIComponent(project.id)}`),
    onSuccess: () => {
      setRemoving(null);
      return queryClient.invalidateQueries({ queryKey: membersKey });
    },
  });
  const columns = useMemo(
    () => [
      memberColumn.accessor((member) => member.email ?? member.user, { id: 'who', header: 'Member', cell: (info) => info.getValue() }),
      memberColumn.accessor('role', { header: 'Role' }),
      memberColumn.accessor((member) => (member.scope === 'project' ? 'this project' : `organization ${member.scope_id}`), { id: 'held', header: 'Held on' }),
      memberColumn.accessor('since', { header: 'Since', cell: (info) => <LocalTime value={info.getValue()} /> }),
      memberColumn.display({
        id: 'actions',
        header: () => <span className="visually-hidden">Actions</span>,
        cell: ({ row }) =>
          row.original.scope === 'project' ? (
            <button type="button" className="danger" onClick={() => setRemoving(row.original)} aria-label={`Remove ${row.original.email ?? row.original.user}`}>
              Remove
            </button>
          ) : null,
      }),
    ],
    [],
  );
  return (
    <section aria-labelledby="members-title">
      <h3 id="members-title">Members</h3>
      <AddMember project={project} />
      <Loaded query={members} what="members">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption={`Members of ${project.name}`}
            rowKey={(member) => `${member.user}:${member.scope}`}
            empty="Nobody holds a role on this project or its organization yet."
          />
        )}
      </Loaded>
      <ConfirmDialog
        open={removing !== null}
        title="Remove this member?"
        confirmLabel="Remove member"
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate(removing)}
        onCancel={() => {
          setRemoving(null);
          remove.reset();
        }}
      >
        <p>
          {removing?.email ?? removing?.user} loses the {removing?.role} role on {project.name}.
        </p>
        {remove.isError ? <ErrorNotice error={remove.error} /> : null}
      </ConfirmDialog>
    </section>
  );
}

function AddMember({ project }: { project: Project }) {
  const { client } = usePortal();
  const queryClient = useQueryClient();
  const users = useQuery({
    queryKey: ['organizations', project.organizationId, 'users'],
    queryFn: () => client.admin<Listing<User>>('GET', `/users?organization=${encodeURIComponent(project.organizationId)}`),
  });
  const {
    register,
    handleSubmit,
    resetField,
    formState: { errors },
  } = useCheckedForm<{ user: string; role: Role }>({ user: '', role: 'reader' });
  const assign = useMutation({
    mutationFn: ({ user, role }: { user: string; role: Role }) =>
      client.admin('PUT', `/users/${encodeURIComponent(user)}/roles`, { scope: 'project', scope_id: project.id, role }),
    onSuccess: () => {
      resetField('user');
      return queryClient.invalidateQueries({ queryKey: ['projects', project.id, 'members'] });
    },
  });
  const submit = handleSubmit((values) => assign.mutate(values));
  if (users.isPending) return <Loading what="users" />;
  if (users.isError) return <ErrorNotice error={users.error} />;
  if (users.data.data.length === 0) return <Empty>The organization has no users yet: they appear when they first sign in, or when added with the CLI.</Empty>;
  return (
    <form className="panel" onSubmit={(event) => void submit(event)} noValidate aria-labelledby="add-member-title">
      <h4 id="add-member-title">Give a role on this project</h4>
      <div className="field">
        <label htmlFor="member-user">User</label>
        <select
          id="member-user"
          {...fieldAria(errors.user?.message, 'member-problem')}
          {...register('user', { validate: (value) => value !== '' || 'Choose a user.' })}
        >
          <option value="">Choose a user…</option>
          {users.data.data.map((candidate) => (
            <option key={candidate.id} value={candidate.id}>
              {candidate.name ? `${candidate.name} <${candidate.email}>` : candidate.email}
            </option>
          ))}
        </select>
        <FieldProblem id="member-problem" problem={errors.user?.message} />
      </div>
      <div className="field">
        <label htmlFor="member-role">Role</label>
        <select id="member-role" {...register('role')}>
          {ROLES.map((candidate) => (
            <option key={candidate} value={candidate}>
              {candidate}
            </option>
          ))}
        </select>
      </div>
      {assign.isError ? <ErrorNotice error={assign.error} /> : null}
      <button type="submit" className="primary" disabled={assign.isPending}>
        {assign.isPending ? 'Saving…' : 'Give role'}
      </button>
    </form>
  );
}
