import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useMemo } from 'react';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { ApiClient, ApiError } from '../api/api-client.js';
import type { SessionStore } from '../api/session.js';
import { DeploymentsPage } from '../pages/deployments-page.js';
import { HomePage } from '../pages/home-page.js';
import { KeysPage } from '../pages/keys-page.js';
import { LimitsPage } from '../pages/limits-page.js';
import { NotFoundPage } from '../pages/not-found-page.js';
import { PlaygroundPage } from '../pages/playground-page.js';
import { OverviewPage } from '../pages/overview-page.js';
import { SignInPage } from '../pages/sign-in-page.js';
import { UsagePage } from '../pages/usage-page.js';
import { SignInCallbackPage } from '../pages/sign-in-callback-page.js';
import { ProjectsPage } from '../pages/projects-page.js';
import { AuditPage } from '../pages/audit-page.js';
import { AccessPage } from '../pages/access-page.js';
import { SafetyPage } from '../pages/safety-page.js';
import { PortalContext, type Portal } from './portal-context.js';
import { Shell } from './shell.js';

/** Refusals (4xx) are answers, not glitches: only network failures and 5xx are retried, twice. */
function retry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failures < 2;
}

const SESSION_ENDED = 'Your session ended: Cerulean no longer accepts that credential. Sign in again.';

/** The whole portal: its one API client, cache and router, over the given session store. */
export function App({ session }: { session: SessionStore }) {
  const portal = useMemo(() => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry, staleTime: 10_000, refetchOnWindowFocus: false } } });
    const signOut = (reason: string | null = null) => {
      session.signOut(reason);
      queryClient.clear();
    };
    const client = new ApiClient({ session, onUnauthorized: () => signOut(SESSION_ENDED) });
    const value: Portal = { client, session, signOut };
    const router = createBrowserRouter(
      [
        { path: '/sign-in', element: <SignInPage /> },
        { path: '/sign-in/callback', element: <SignInCallbackPage /> },
        {
          path: '/',
          element: <Shell />,
          children: [
            { index: true, element: <HomePage /> },
            { path: 'deployments', element: <DeploymentsPage /> },
            { path: 'keys', element: <KeysPage /> },
            { path: 'keys/:project', element: <KeysPage /> },
            { path: 'playground', element: <PlaygroundPage /> },
            { path: 'overview', element: <OverviewPage /> },
            { path: 'usage', element: <UsagePage /> },
            { path: 'limits', element: <LimitsPage /> },
            { path: 'access', element: <AccessPage /> },
            { path: 'access/:project', element: <AccessPage /> },
            { path: 'safety', element: <SafetyPage /> },
            { path: 'safety/:section', element: <SafetyPage /> },
            { path: 'safety/:section/:project', element: <SafetyPage /> },
            { path: 'projects', element: <ProjectsPage /> },
            { path: 'projects/:project', element: <ProjectsPage /> },
            { path: 'audit', element: <AuditPage /> },
            { path: '*', element: <NotFoundPage /> },
          ],
        },
      ],
      { basename: '/portal' },
    );
    return { queryClient, value, router };
  }, [session]);
  return (
    <PortalContext.Provider value={portal.value}>
      <QueryClientProvider client={portal.queryClient}>
        <RouterProvider router={portal.router} />
      </QueryClientProvider>
    </PortalContext.Provider>
  );
}
