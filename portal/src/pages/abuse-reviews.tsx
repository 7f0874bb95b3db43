import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { createColumnHelper } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { useWatch } from 'react-hook-form';
import type { Listing, Project } from '../api/admin-types.js';
import {
  ABUSE_REVIEW_STATUSES,
  ABUSE_SUBJECT_TYPES,
  decisionsFor,
  type AbuseDecision,
  type AbuseReview,
  type AbuseReviewDetail,
  type AbuseReviewStatus,
  type AbuseSubjectType,
} from '../api/governance.js';
import { may } from '../api/identity.js';
import { useIdentity, usePortal } from '../app/portal-context.js';
import { ConfirmDialog } from '../components/confirm-dialog.js';
import { DataTable } from '../components/data-table.js';
import { useCheckedForm } from '../components/form-fields.js';
import { LocalTime } from '../components/local-time.js';
import { ProjectPicker } from '../components/project-picker.js';
import { Empty, ErrorNotice, Loaded, Loading } from '../components/status.js';

const SUBJECTS: Readonly<Record<AbuseSubjectType, string>> = { key: 'key', project: 'project', end_user: 'end user' };

const VERBS: Readonly<Record<AbuseDecision, { label: string; title: string; confirm: string }>> = {
  dismiss: { label: 'Dismiss', title: 'Dismiss this review?', confirm: 'Dismiss review' },
  suspend: { label: 'Suspend', title: 'Suspend the subject?', confirm: 'Suspend' },
  reinstate: { label: 'Reinstate', title: 'Reinstate the subject?', confirm: 'Reinstate' },
};

function subjectOf(review: Pick<AbuseReview, 'subjectType' | 'subjectId'>): string {
  return `${SUBJECTS[review.subjectType]} ${review.subjectId}`;
}

/** What a decision does, in words, for the confirmation. */
function consequence(verb: AbuseDecision, review: AbuseReview): string {
  switch (verb) {
    case 'dismiss':
      return 'The review is closed as harmless and its subject starts afresh.';
    case 'suspend':
      return review.subjectType === 'key'
        ? 'The key is refused (403 key_suspended) on every replica until it is reinstated.'
        : `Abuse monitoring refuses the ${SUBJECTS[review.subjectType]} until it is reinstated.`;
    case 'reinstate':
      return 'The suspension is lifted: the subject may call again and starts afresh.';
  }
}

/**
 * The abuse review queue: every project's reviews for the operator (who decides them), one
 * project's for its owners and admins (who read them).
 */
export function AbuseReviews({ projectId, onProject }: { projectId: string | undefined; onProject: (id: string) => void }) {
  const identity = useIdentity();
  if (identity.operator) return <ReviewQueue projectId={projectId} projectFilter onProject={onProject} />;
  return (
    <ProjectPicker id="reviews-project" value={projectId ?? ''} onChange={onProject}>
      {(projects) => {
        if (projectId === undefined) return null;
        const project = projects.find((candidate) => candidate.id === projectId);
        if (!project) return <ErrorNotice error={new Error(`There is no project "${projectId}" you can see.`)} />;
        if (!may(identity, 'abuse:read', { organization: project.organizationId, project: project.id }))
          return <Empty>Your roles on {project.name} do not include reading its abuse reviews (owner and admin do).</Empty>;
        return <ReviewQueue key={project.id} projectId={project.id} projectFilter={false} onProject={onProject} />;
      }}
    </ProjectPicker>
  );
}

const column = createColumnHelper<AbuseReview>();

function ReviewQueue({ projectId, projectFilter, onProject }: { projectId: string | undefined; projectFilter: boolean; onProject: (id: string) => void }) {
  const { client } = usePortal();
  // The filters apply as they are chosen: nothing to check, no button.
  const { register, control } = useCheckedForm<{ status: AbuseReviewStatus | ''; subjectType: AbuseSubjectType | '' }>({ status: 'open', subjectType: '' });
  const [status, subjectType] = useWatch({ control, name: ['status', 'subjectType'] });
  const [opened, setOpened] = useState<string | null>(null);
  const search = new URLSearchParams();
  if (projectId) search.set('project', projectId);
  if (status) search.set('status', status);
  if (subjectType) search.set('subject_type', subjectType);
  const query = search.toString();
  const reviews = useQuery({
    queryKey: ['abuse', 'reviews', query],
    queryFn: () => client.admin<Listing<AbuseReview>>('GET', `/abuse/reviews${query ? `?${query}` : ''}`),
  });
  const columns = useMemo(
    () => [
      column.accessor((review) => subjectOf(review), { id: 'subject', header: 'Subject', cell: (info) => <code>{info.getValue()}</code> }),
      column.accessor('projectId', { header: 'Project', cell: (info) => <code>{info.getValue()}</code> }),
      column.accessor('status', { header: 'Status', cell: (info) => <span className={`badge review-${info.getValue()}`}>{info.getValue()}</span> }),
      column.accessor('events', { header: 'Flagged' }),
      column.accessor('reason', { header: 'Reason', enableSorting: false, cell: (info) => <span className="use-case">{info.getValue()}</span> }),
      column.accessor('lastAt', { header: 'Last seen', cell: (info) => <LocalTime value={info.getValue()} /> }),
      column.display({
        id: 'open',
        header: () => <span className="visually-hidden">Open</span>,
        cell: ({ row }) => (
          <button type="button" onClick={() => setOpened(row.original.id)} aria-label={`Open the review of ${subjectOf(row.original)}`}>
            Open
          </button>
        ),
      }),
    ],
    [],
  );
  return (
    <>
      <h2>Abuse reviews</h2>
      <form className="filters" aria-label="Review filters" onSubmit={(event) => event.preventDefault()}>
        {projectFilter ? <ProjectFilter value={projectId ?? ''} onChange={onProject} /> : null}
        <div className="field">
          <label htmlFor="review-status">Status</label>
          <select id="review-status" {...register('status')}>
            {ABUSE_REVIEW_STATUSES.map((value) => (
              <option key={value} value={value}>
                {value}
              </option>
            ))}
            <option value="">any</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="review-subject">Subject</label>
          <select id="review-subject" {...register('subjectType')}>
            <option value="">any</option>
            {ABUSE_SUBJECT_TYPES.map((value) => (
              <option key={value} value={value}>
                {SUBJECTS[value]}
              </option>
            ))}
          </select>
        </div>
      </form>
      <Loaded query={reviews} what="abuse reviews">
        {(data) => (
          <DataTable
            rows={data.data}
            columns={columns}
            caption="Abuse reviews"
            rowKey={(review) => review.id}
            empty={status === 'open' ? 'No review is open.' : 'No review matches these filters.'}
          />
        )}
      </Loaded>
      {opened ? <ReviewDetail key={opened} id={opened} onClose={() => setOpened(null)} /> : null}
    </>
  );
}

/** The operator's project filter: any project, or one of those there are. */
function ProjectFilter({ value, onChange }: { value: string; onChange: (id: string) => void }) {
  const { client } = usePortal();
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => client.admin<Listing<Project>>('GET', '/projects') });
  return (
    <div className="field">
      <label htmlFor="review-project">Project</label>
      <select id="review-project" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">any</option>
        {(projects.data?.data ?? []).map((project) => (
          <option key={project.id} value={project.id}>
            {project.name} ({project.id})
          </option>
        ))}
        {value && projects.data && !projects.data.data.some((project) => project.id === value) ? <option value={value}>{value}</option> : null}
      </select>
    </div>
  );
}

/** One review: what it is about, its samples as plain text, and (for the operator) the decisions it can take. */
function ReviewDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const { client } = usePortal();
  const identity = useIdentity();
  const queryClient = useQueryClient();
  const review = useQuery({
    queryKey: ['abuse', 'review', id],
    queryFn: () => client.admin<AbuseReviewDetail>('GET', `/abuse/reviews/${encodeURIComponent(id)}`),
  });
  const [deciding, setDeciding] = useState<AbuseDecision | null>(null);
  // The decision's optional reason: a form of one field, with nothing to check.
  const { register, getValues, reset } = useCheckedForm<{ reason: string }>({ reason: '' });
  const decide = useMutation({
    mutationFn: (verb: AbuseDecision) => {
      const reason = getValues('reason').trim();
      return client.admin<AbuseReview>('POST', `/abuse/reviews/${encodeURIComponent(id)}/${verb}`, reason ? { reason } : {});
    },
    onSuccess: () => {
      setDeciding(null);
      reset();
      return queryClient.invalidateQueries({ queryKey: ['abuse'] });
    },
  });
  if (review.isPending) return <Loading what="the review" />;
  if (review.isError) return <ErrorNotice error={review.error} />;
  const detail = review.data;
  const close = () => {
    setDeciding(null);
    reset();
    decide.reset();
  };
  return (
    <div className="panel review-detail" role="region" aria-labelledby="review-title">
      <h3 id="review-title">Review of {subjectOf(detail)}</h3>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span className={`badge review-${detail.status}`}>{detail.status}</span>
          {detail.decidedAt !== null ? (
            <>
              {' '}
              (<LocalTime value={detail.decidedAt} /> by {detail.decidedBy ?? 'unknown'})
            </>
          ) : null}
        </dd>
        <dt>Project</dt>
        <dd>
          <code>{detail.projectId}</code>
        </dd>
        <dt>Reason</dt>
        <dd>{detail.reason}</dd>
        <dt>Seen</dt>
        <dd>
          <LocalTime value={detail.firstAt} /> to <LocalTime value={detail.lastAt} />, {detail.events} flagged
        </dd>
      </dl>
      <h4>Samples</h4>
      {detail.samples.length === 0 ? (
        <Empty>No sample is kept (none recorded, or past the retention).</Empty>
      ) : (
        <ul className="plain samples" aria-label="Samples">
          {detail.samples.map((sample) => (
            <li key={sample.id}>
              <span className="muted">
                {sample.direction}, <LocalTime value={sample.at} />:{' '}
                {sample.categories.map((category) => `${category.category} ${category.severity}${category.filtered ? ' (blocked)' : ''}`).join(', ')}
              </span>
              <pre className="sample-text">{sample.text}</pre>
            </li>
          ))}
        </ul>
      )}
      <div className="actions">
        {identity.operator
          ? decisionsFor(detail.status).map((verb) => (
              <button key={verb} type="button" className={verb === 'suspend' ? 'danger' : undefined} onClick={() => setDeciding(verb)}>
                {VERBS[verb].label}
              </button>
            ))
          : null}
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      <ConfirmDialog
        open={deciding !== null}
        title={deciding ? VERBS[deciding].title : ''}
        confirmLabel={deciding ? VERBS[deciding].confirm : ''}
        busy={decide.isPending}
        onConfirm={() => deciding && decide.mutate(deciding)}
        onCancel={close}
      >
        <p>{deciding ? consequence(deciding, detail) : null}</p>
        <div className="field">
          <label htmlFor="review-reason">Reason (optional, recorded with the decision)</label>
          <textarea id="review-reason" rows={2} maxLength={2000} {...register('reason')} />
        </div>
        {decide.isError ? <ErrorNotice error={decide.error} /> : null}
      </ConfirmDialog>
    </div>
  );
}
