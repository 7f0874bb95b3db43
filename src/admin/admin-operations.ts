import type { AdminOperation } from './admin-operation.js';
import { identityOperations } from './operations/identity-operations.js';
import { limitOperations } from './operations/limit-operations.js';
import { memberOperations } from './operations/member-operations.js';
import { policyOperations } from './operations/policy-operations.js';
import { recordOperations } from './operations/record-operations.js';
import { safetyOperations } from './operations/safety-operations.js';
import { targetOperations } from './operations/target-operations.js';
import { tenancyOperations } from './operations/tenancy-operations.js';

/** Every admin operation: served over HTTP, documented in OpenAPI and run by the CLI from this one list. */
export const ADMIN_OPERATIONS: readonly AdminOperation[] = [
  ...identityOperations,
  ...tenancyOperations,
  ...memberOperations,
  ...policyOperations,
  ...limitOperations,
  ...targetOperations,
  ...recordOperations,
  ...safetyOperations,
];

const BY_ID = new Map(ADMIN_OPERATIONS.map((operation) => [operation.id, operation]));

export function adminOperation(id: string): AdminOperation | undefined {
  return BY_ID.get(id);
}
