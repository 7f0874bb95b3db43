import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError } from '../api/api-client.js';

/** A wait for the server, announced to screen readers. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="status" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** Nothing to show yet, and what would make something appear. */
export function Empty({ children }: { children: ReactNode }) {
  return <p className="status empty">{children}</p>;
}

/** An error as the API worded it, with its code for reference. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="notice error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {message}
      {code ? <span className="code"> ({code})</span> : null}
    </div>
  );
}

/** A query's answer once it is there: "Loading …" while it is pending, the error as the API worded it, else what `children` makes of the data. */
export function Loaded<T>({ query, what, children }: { query: UseQueryResult<T>; what: string; children: (data: T) => ReactNode }) {
  if (query.isPending) return <Loading what={what} />;
  if (query.isError) return <ErrorNotice error={query.error} />;
  return <>{children(query.data)}</>;
}
