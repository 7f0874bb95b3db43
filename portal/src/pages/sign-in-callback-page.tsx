import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { Identity } from '../api/identity.js';
import { tokenExpiry } from '../api/session.js';
import { CALLBACK_PATH, completeSignIn } from '../api/single-sign-on.js';
import { usePortal } from '../app/portal-context.js';
import { ErrorNotice, Loading } from '../components/status.js';

/**
 * Where the issuer sends people back (`/sign-in/callback?code=…&state=…`). The query is read once and
 * taken out of the address bar and history at once (the code must not linger in a URL); the code is
 * exchanged for a token, which is checked with `GET /me` before it becomes the session's credential.
 */
export function SignInCallbackPage() {
  const { client, session } = usePortal();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<unknown>(null);
  // Started once, even where React runs an effect twice (development's strict mode).
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const query = new URLSearchParams(window.location.search);
    window.history.replaceState(null, '', CALLBACK_PATH);
    void (async () => {
      try {
        const { credential, returnTo } = await completeSignIn(query, { storage: window.sessionStorage, fetch: (input, init) => fetch(input, init) });
        const identity = await client.admin<Identity>('GET', '/me', undefined, credential);
        queryClient.setQueryData(['me'], identity);
        const expiresAt = tokenExpiry(credential);
        session.signIn(expiresAt === undefined ? { credential, method: 'oidc' } : { credential, method: 'oidc', expiresAt });
        await navigate(returnTo, { replace: true });
      } catch (error) {
        setProblem(error);
      }
    })();
  }, [client, session, queryClient, navigate]);
  return (
    <main className="page narrow sign-in">
      <h1>Signing in</h1>
      {problem ? (
        <>
          <ErrorNotice error={problem} title="Single sign-on failed" />
          <p>
            <Link to="/sign-in">Back to sign-in</Link>
          </p>
        </>
      ) : (
        <Loading what="your session" />
      )}
    </main>
  );
}
