import {
  AuthenticationError,
  CeruleanError,
  ContentFilterError,
  DeploymentNotFoundError,
  QuotaTooSmallError,
  RateLimitedError,
  RouteNotFoundError,
  UnsupportedApiVersionError,
} from './catalogue.js';

/** Which API's error envelope a route answers in. */
export type ApiShape = 'openai' | 'azure';

export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: { error: Record<string, unknown> };
}

const AZURE_ACCESS_DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';
const AZURE_DEPLOYMENT_NOT_FOUND =
  'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.';

const INTERNAL_MESSAGE = 'The server had an error while processing your request. Sorry about that!';

function asCeruleanError(error: unknown): CeruleanError {
  if (error instanceof CeruleanError) return error;
  return new CeruleanError(500, 'server_error', INTERNAL_MESSAGE, { code: 'internal_error' });
}

/** `retry-after` (whole seconds) and `retry-after-ms`, plus the error's own headers: every envelope sends them. */
export function retryHeaders(error: CeruleanError): Record<string, string> {
  const headers: Record<string, string> = { ...error.headers };
  if (error.retryAfterSeconds !== undefined) {
    const seconds = Math.max(0, error.retryAfterSeconds);
    headers['retry-after'] = String(Math.ceil(seconds));
    headers['retry-after-ms'] = String(Math.ceil(seconds * 1000));
  }
  return headers;
}

/** Azure's envelope: `code` is always a string, and a few errors have fixed texts clients match on. */
function azureBody(error: CeruleanError): Record<string, unknown> {
  if (error instanceof AuthenticationError) return { code: '401', message: AZURE_ACCESS_DENIED };
  if (error instanceof DeploymentNotFoundError) return { code: 'DeploymentNotFound', message: AZURE_DEPLOYMENT_NOT_FOUND };
  if (error instanceof UnsupportedApiVersionError || error instanceof RouteNotFoundError) {
    return { code: '404', message: 'Resource not found' };
  }
  if (error instanceof RateLimitedError || error instanceof QuotaTooSmallError) return { code: '429', message: error.azureMessage };
  if (error.status === 429) return { code: '429', message: error.message };
  return {
    message: error.message,
    type: error.type,
    param: error.param,
    code: error.code ?? String(error.status),
    status: error.status,
  };
}

/**
 * Renders any thrown value as the reply the route's API would give. Non-Cerulean errors become a
 * generic 500 so internals never reach the caller.
 */
export function renderError(error: unknown, shape: ApiShape): RenderedError {
  const known = asCeruleanError(error);
  if (known instanceof ContentFilterError) return { status: known.status, headers: retryHeaders(known), body: { error: known.body() } };
  const body = shape === 'azure' ? azureBody(known) : { message: known.message, type: known.type, param: known.param, code: known.code };
  return { status: known.status, headers: retryHeaders(known), body: { error: body } };
}

export function isCallerError(error: unknown): boolean {
  return error instanceof CeruleanError && error.status < 500;
}
