import { useSyncExternalStore } from 'react';
import { usePortal } from './portal-context.js';

/** The signed-in credential (null: signed out), re-rendering on sign-in and sign-out. */
export function useCredential(): string | null {
  const { session } = usePortal();
  return useSyncExternalStore(
    (listener) => session.subscribe(listener),
    () => session.credential(),
  );
}
