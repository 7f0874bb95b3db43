import { useQuery } from '@tanstack/react-query';
import { Navigate, NavLink, Outlet, useLocation } from 'react-router';
import type { Identity } from '../api/identity.js';
import { displayName } from '../api/identity.js';
import { ErrorNotice, Loading } from '../components/status.js';
import { pagesFor } from './navigation.js';
import { IdentityContext, usePortal } from './portal-context.js';
import { useCredential } from './use-credential.js';

/** The signed-in frame: header with who is signed in, the navigation, and the page. Signed out, it sends to the sign-in page. */
export function Shell() {
  const credential = useCredential();
  const location = useLocation();
  if (!credential) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return <SignedIn key={credential} />;
}

function SignedIn() {
  const { client, signOut } = usePortal();
  const me = useQuery({ queryKey: ['me'], queryFn: () => client.admin<Identity>('GET', '/me'), staleTime: Infinity });
  if (me.isPending) return <Loading what="your account" />;
  if (me.isError)
    return (
      <main className="page narrow">
        <ErrorNotice error={me.error} title="Cerulean did not say who you are" />
        <div className="actions">
          <button type="button" onClick={() => void me.refetch()}>
            Retry
          </button>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </main>
    );
  const identity = me.data;
  return (
    <IdentityContext.Provider value={identity}>
      <a className="skip-link" href="#main">
        Skip to the page
      </a>
      <header className="top">
        <span className="brand">Cerulean</span>
        <nav aria-label="Pages">
          <ul>
            {pagesFor(identity).map((page) => (
              <li key={page.path}>
                <NavLink to={page.path}>{page.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="who-name">{displayName(identity)}</span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="page" tabIndex={-1}>
        <Outlet />
      </main>
    </IdentityContext.Provider>
  );
}
