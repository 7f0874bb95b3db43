import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import type { Listing, Project } from '../api/admin-types.js';
import { usePortal } from '../app/portal-context.js';
import { Empty, ErrorNotice, Loading } from './status.js';

/**
 * The projects the caller can see, as a "Project" select (loading, error and empty states
 * included), and what the page shows below it: `children` gets the projects once they are in.
 */
export function ProjectPicker({
  id,
  value,
  onChange,
  children,
}: {
  id: string;
  value: string;
  onChange: (projectId: string) => void;
  children: (projects: readonly Project[]) => ReactNode;
}) {
  const { client } = usePortal();
  const projects = useQuery({ queryKey: ['projects'], queryFn: () => client.admin<Listing<Project>>('GET', '/projects') });
  if (projects.isPending) return <Loading what="projects" />;
  if (projects.isError) return <ErrorNotice error={projects.error} />;
  if (projects.data.data.length === 0) return <Empty>There is no project you can see yet.</Empty>;
  return (
    <>
      <div className="field inline">
        <label htmlFor={id}>Project</label>
        <select id={id} value={value} onChange={(event) => onChange(event.target.value)}>
          <option value="" disabled>
            Choose a project…
          </option>
          {projects.data.data.map((project) => (
            <option key={project.id} value={project.id}>
              {project.name} ({project.id})
            </option>
          ))}
        </select>
      </div>
      {children(projects.data.data)}
    </>
  );
}
