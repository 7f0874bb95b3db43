import { InvalidRequestError, PermissionError } from '../errors/catalogue.js';
import type { AdmitStage } from './admit.js';
import type { InferenceContext } from './context.js';
import type { DeploymentTable } from './pick-target.js';

/**
 * Checks the deployment a request named to spill over to (`context.spillover`), once the request is
 * admitted: it must exist (400, the route's envelope) and the caller must be allowed to call it as
 * it is the requested one (403). Residency needs no check here: the plan leaves out every target
 * outside the project's zone, the spillover deployment's included.
 */
export function checkSpillover(context: InferenceContext, table: DeploymentTable, admit: AdmitStage | undefined): void {
  const name = context.spillover as string;
  if (!table.routesOf(name)) {
    throw new InvalidRequestError(
      `The spillover deployment "${name}" named in x-ms-spillover-deployment does not exist.`,
      'x-ms-spillover-deployment',
      'invalid_spillover_deployment',
    );
  }
  if (admit && !admit.mayUse(context.principal, name, context.projectHint)) {
    throw new PermissionError(`The caller may not call deployment "${name}", named in x-ms-spillover-deployment.`, 'deployment_not_allowed');
  }
}
