import { createContext, useContext } from 'react';
import type { ApiClient } from '../api/api-client.js';
import type { Identity } from '../api/identity.js';
import type { SessionStore } from '../api/session.js';

export interface Portal {
  readonly client: ApiClient;
  readonly session: SessionStore;
  /** Signs out: the session and every cached answer are forgotten. */
  signOut(reason?: string | null): void;
}

export const PortalContext = createContext<Portal | null>(null);

export function usePortal(): Portal {
  const portal = useContext(PortalContext);
  if (!portal) throw new Error('usePortal outside the portal');
  return portal;
}

/** The signed-in caller; set by the shell once `GET /me` answered. */
export const IdentityContext = createContext<Identity | null>(null);

export function useIdentity(): Identity {
  const identity = useContext(IdentityContext);
  if (!identity) throw new Error('useIdentity outside the signed-in shell');
  return identity;
}
