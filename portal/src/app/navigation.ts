import { mayAnywhere, type Identity } from '../api/identity.js';

/** The portal's pages in the navigation, each shown to those whose roles let them read it. */
export const PAGES: ReadonlyArray<{ readonly path: string; readonly label: string; readonly visible: (identity: Identity) => boolean }> = [
  { path: '/deployments', label: 'Deployments', visible: (identity) => mayAnywhere(identity, 'deployments:read') },
  { path: '/keys', label: 'Keys', visible: (identity) => mayAnywhere(identity, 'keys:read') },
  { path: '/playground', label: 'Playground', visible: (identity) => identity.kind !== 'user' || mayAnywhere(identity, 'inference') },
  { path: '/overview', label: 'Overview', visible: (identity) => mayAnywhere(identity, 'usage:read') },
  { path: '/usage', label: 'Usage', visible: (identity) => mayAnywhere(identity, 'usage:read') },
  { path: '/limits', label: 'Quotas & budgets', visible: (identity) => mayAnywhere(identity, 'usage:read') },
  { path: '/access', label: 'Limited access', visible: (identity) => mayAnywhere(identity, 'access:apply') },
  {
    path: '/safety',
    label: 'Content safety',
    visible: (identity) => mayAnywhere(identity, 'safety:read') || mayAnywhere(identity, 'abuse:read'),
  },
  { path: '/projects', label: 'Projects', visible: (identity) => mayAnywhere(identity, 'projects:read') },
  { path: '/audit', label: 'Audit log', visible: (identity) => mayAnywhere(identity, 'audit:read') },
];

export function pagesFor(identity: Identity) {
  return PAGES.filter((page) => page.visible(identity));
}
