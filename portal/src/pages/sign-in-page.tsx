import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import type { Identity } from '../api/identity.js';
import { usePortal } from '../app/portal-context.js';
import { useCredential } from '../app/use-credential.js';
import { useCheckedForm } from '../components/form-fields.js';
import { SingleSignOn } from '../components/single-sign-on.js';
import { ErrorNotice } from '../components/status.js';

/**
 * Sign-in with a pasted credential: the master key, an API key or an access token. It is checked
 * with `GET /admin/v1/me` before it is kept (in session storage, for this tab only). Or single sign-on
 * through an OIDC issuer, when Cerulean offers one.
 */
export function SignInPage() {
  const { client, session } = usePortal();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const location = useLocation();
  const credential = useCredential();
  const {
    register,
    handleSubmit,
    reset,
    formState: { errors, isSubmitting },
  } = useCheckedForm<{ credential: string }>({ credential: '' });
  // The API's refusal of the credential, as it worded it.
  const [refusal, setRefusal] = useState<unknown>(null);
  const from = (location.state as { from?: string } | null)?.from ?? '/';
  if (credential) return <Navigate to={from} replace />;
  const ended = session.endedBecause();
  const problem = errors.credential ? new Error(errors.credential.message) : refusal;

  const submit = handleSubmit(async (values) => {
    const presented = values.credential.trim();
    setRefusal(null);
    try {
      const identity = await client.admin<Identity>('GET', '/me', undefined, presented);
      queryClient.setQueryData(['me'], identity);
      session.signIn({ credential: presented, method: 'key' });
      reset();
      await navigate(from, { replace: true });
    } catch (error) {
      setRefusal(error);
    }
  });

  return (
    <main className="page narrow sign-in">
      <h1>Sign in to Cerulean</h1>
      {ended && !problem ? <p className="notice">{ended}</p> : null}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <label htmlFor="credential">Master key, API key or access token</label>
        <input
          id="credential"
          type="password"
          autoComplete="off"
          spellCheck={false}
          {...register('credential', { validate: (value) => value.trim() !== '' || 'Paste a key or token first.' })}
          aria-invalid={problem ? true : undefined}
          aria-describedby="credential-help"
          required
          autoFocus
        />
        <p id="credential-help" className="help">
          Kept in this tab only (session storage) and sent as an Authorization header; signing out or closing the tab forgets it.
        </p>
        {problem ? <ErrorNotice error={problem} /> : null}
        <button type="submit" className="primary" disabled={isSubmitting}>
          {isSubmitting ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <SingleSignOn returnTo={from} />
    </main>
  );
}
