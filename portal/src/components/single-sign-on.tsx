import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { beginSignIn, IDENTITY_PROVIDERS_URL, type IdentityProvider } from '../api/single-sign-on.js';
import { ErrorNotice } from './status.js';

async function identityProviders(): Promise<IdentityProvider[]> {
  const response = await fetch(IDENTITY_PROVIDERS_URL, { credentials: 'omit' });
  if (!response.ok) throw new Error(`The sign-in options could not be read (HTTP ${response.status}).`);
  return ((await response.json()) as { data: IdentityProvider[] }).data;
}

/** The issuer's host, as a person knows it ("login.microsoftonline.com"). */
function labelOf(provider: IdentityProvider): string {
  return URL.canParse(provider.issuer) ? new URL(provider.issuer).host : provider.issuer;
}

/** One button per issuer Cerulean offers single sign-on through; nothing when there is none. */
export function SingleSignOn({ returnTo }: { returnTo: string }) {
  const providers = useQuery({ queryKey: ['identity-providers'], queryFn: identityProviders, staleTime: Infinity });
  const [problem, setProblem] = useState<unknown>(null);
  const [leaving, setLeaving] = useState<string | null>(null);
  if (providers.isError) return <ErrorNotice error={providers.error} />;
  if (!providers.data || providers.data.length === 0) return null;
  const start = async (provider: IdentityProvider) => {
    setProblem(null);
    setLeaving(provider.issuer);
    try {
      const url = await beginSignIn(provider, {
        storage: window.sessionStorage,
        fetch: (input, init) => fetch(input, init),
        origin: window.location.origin,
        returnTo,
      });
      window.location.assign(url);
    } catch (error) {
      setProblem(error);
      setLeaving(null);
    }
  };
  return (
    <section className="single-sign-on" aria-labelledby="sso-title">
      <h2 id="sso-title">Single sign-on</h2>
      {providers.data.map((provider) => (
        <button key={provider.issuer} type="button" className="primary" disabled={leaving !== null} onClick={() => void start(provider)}>
          {leaving === provider.issuer ? 'Redirecting…' : `Sign in with ${labelOf(provider)}`}
        </button>
      ))}
      {problem ? <ErrorNotice error={problem} /> : null}
    </section>
  );
}
