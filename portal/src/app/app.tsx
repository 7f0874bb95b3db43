import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useMemo, type ComponentType } from 'react';
import { createBrowserRouter, RouterProvider, type RouteObject } from 'react-router';
import { ApiClient, ApiError } from '../api/api-client.js';
import { hasExpired, type SessionStore } from '../api/session.js';
import { HomePage } from '../pages/home-page.js';
import { NotFoundPage } from '../pages/not-found-page.js';
import { SignInPage } from '../pages/sign-in-page.js';
import { SignInCallbackPage } from '../pages/sign-in-callback-page.js';
import { PortalContext, type Portal } from './portal-context.js';
import { Shell } from './shell.js';

/**
 * A page loaded on first visit, in its own chunk: the sign-in page and the shell come in the first
 * download, each page (and what only it uses, such as the charts) when it is first opened.
 */
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K): Pick<RouteObject, 'lazy'> {
  return { lazy: async () => ({ Component: (await load())[name] }) };
}

const DEPLOYMENTS = page(() => import('../pages/deployments-page.js'), 'DeploymentsPage');
const KEYS = page(() => import('../pages/keys-page.js'), 'KeysPage');
const PLAYGROUND = page(() => import('../pages/playground-page.js'), 'PlaygroundPage');
const OVERVIEW = page(() => import('../pages/overview-page.js'), 'OverviewPage');
const USAGE = page(() => import('../pages/usage-page.js'), 'UsagePage');
const LIMITS = page(() => import('../pages/limits-page.js'), 'LimitsPage');
const ACCESS = page(() => import('../pages/access-page.js'), 'AccessPage');
const SAFETY = page(() => import('../pages/safety-page.js'), 'SafetyPage');
const PROJECTS = page(() => import('../pages/projects-page.js'), 'ProjectsPage');
const AUDIT = page(() => import('../pages/audit-page.js'), 'AuditPage');

/** Refusals (4xx) are answers, not glitches: only network failures and 5xx are retried, twice. */
function retry(failures: number, error: unknown): boolean {
  if (error instanceof ApiError && error.status >= 400 && error.status < 500) return false;
  return failures < 2;
}

const SESSION_ENDED = 'Your session ended: Cerulean no longer accepts that credential. Sign in again.';
const SSO_EXPIRED = 'Your single sign-on session expired. Sign in again.';
/** Longest delay setTimeout keeps (about 24.8 days); a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The whole portal: its one API client, cache and router, over the given session store. */
export function App({ session }: { session: SessionStore }) {
  const portal = useMemo(() => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry, staleTime: 10_000, refetchOnWindowFocus: false } } });
    const signOut = (reason: string | null = null) => {
      session.signOut(reason);
      queryClient.clear();
    };
    const ended = () => {
      const current = session.current();
      return current && hasExpired(current, Date.now()) ? SSO_EXPIRED : SESSION_ENDED;
    };
    const client = new ApiClient({ session, onUnauthorized: () => signOut(ended()) });
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
            { path: 'deployments', ...DEPLOYMENTS },
            { path: 'keys', ...KEYS },
            { path: 'keys/:project', ...KEYS },
            { path: 'playground', ...PLAYGROUND },
            { path: 'overview', ...OVERVIEW },
            { path: 'usage', ...USAGE },
            { path: 'limits', ...LIMITS },
            { path: 'access', ...ACCESS },
            { path: 'access/:project', ...ACCESS },
            { path: 'safety', ...SAFETY },
            { path: 'safety/:section', ...SAFETY },
            { path: 'safety/:section/:project', ...SAFETY },
            { path: 'projects', ...PROJECTS },
            { path: 'projects/:project', ...PROJECTS },
            { path: 'audit', ...AUDIT },
            { path: '*', element: <NotFoundPage /> },
          ],
        },
      ],
      { basename: '/portal' },
    );
    return { queryClient, value, router };
  }, [session]);
  // A single sign-on session ends when its token expires, shown on the sign-in page, even while nobody clicks.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      const expiresAt = session.current()?.expiresAt;
      if (expiresAt === undefined) return;
      const wait = expiresAt - Date.now();
      timer = setTimeout(() => (wait > MAX_TIMER_MS ? arm() : portal.value.signOut(SSO_EXPIRED)), Math.min(Math.max(0, wait), MAX_TIMER_MS));
    };
    arm();
    const unsubscribe = session.subscribe(arm);
    return () => {
      unsubscribe();
      clearTimeout(timer);
    };
  }, [session, portal]);
  return (
    <PortalContext.Provider value={portal.value}>
      <QueryClientProvider client={portal.queryClient}>
        <RouterProvider router={portal.router} />
      </QueryClientProvider>
    </PortalContext.Provider>
  );
}
