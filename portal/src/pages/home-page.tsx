import { Navigate } from 'react-router';
import { pagesFor } from '../app/navigation.js';
import { useIdentity } from '../app/portal-context.js';

/** The first page the caller may read; an API key reads none and is told why. */
export function HomePage() {
  const identity = useIdentity();
  const [first] = pagesFor(identity);
  if (first) return <Navigate to={first.path} replace />;
  return (
    <section className="narrow">
      <h1>Nothing to manage with this credential</h1>
      {identity.kind === 'key' ? (
        <p>
          You signed in with an API key of project <strong>{identity.project}</strong>. API keys are for calling models only; managing projects, keys and
          deployments needs the master key or a user&apos;s access token with a role.
        </p>
      ) : (
        <p>None of your roles lets you read deployments or keys. Ask an owner of your organization or project for a role.</p>
      )}
    </section>
  );
}
