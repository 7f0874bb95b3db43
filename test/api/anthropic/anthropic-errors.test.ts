import { describe, expect, it } from 'vitest';
import { anthropicErrorOf, renderAnthropicError } from '../../../src/api/anthropic/anthropic-errors.js';
import {
  AuthenticationError,
  BudgetExceededError,
  ContentFilterError,
  DeploymentNotFoundError,
  InvalidRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  PermissionError,
  ProviderNotConfiguredError,
  RateLimitedError,
  ShuttingDownError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../../../src/errors/catalogue.js';
import { renderError } from '../../../src/errors/render.js';

describe('renderAnthropicError', () => {
  it.each([
    [new InvalidRequestError('max_tokens: Field required', 'max_tokens'), 400, 'invalid_request_error'],
    [new AuthenticationError(), 401, 'authentication_error'],
    [new PermissionError('Key may not use this deployment.'), 403, 'permission_error'],
    [new DeploymentNotFoundError('claude'), 404, 'not_found_error'],
    [new MethodNotAllowedError('GET', '/v1/messages'), 405, 'invalid_request_error'],
    [new PayloadTooLargeError(1024), 413, 'request_too_large'],
    [new BudgetExceededError('Budget spent.'), 429, 'rate_limit_error'],
    [new UpstreamStatusError(500, 'boom'), 500, 'api_error'],
    [new UpstreamUnreachableError('Deployment "claude" is unreachable (ECONNREFUSED).'), 502, 'api_error'],
    [new ShuttingDownError(), 503, 'api_error'],
    [new UpstreamTimeoutError('Deployment "claude" did not answer within 100 ms.'), 504, 'timeout_error'],
  ])('renders %s as %i %s', (error, status, type) => {
    const rendered = renderAnthropicError(error);
    expect(rendered.status).toBe(status);
    expect(rendered.body).toEqual({ type: 'error', error: { type, message: error.message } });
  });

  it('keeps retry-after and the error headers', () => {
    const rendered = renderAnthropicError(new RateLimitedError('Rate limit reached.', 7.5, { 'x-ratelimit-remaining-requests': '0' }));
    expect(rendered).toEqual({
      status: 429,
      headers: { 'x-ratelimit-remaining-requests': '0', 'retry-after': '8', 'retry-after-ms': '7500' },
      body: { type: 'error', error: { type: 'rate_limit_error', message: 'Rate limit reached.' } },
    });
    expect(renderAnthropicError(new ProviderNotConfiguredError('claude', 'anthropic', 'ANTHROPIC_API_KEY')).headers).toEqual({ 'x-should-retry': 'false' });
  });

  it('adds request_id at the top level when given', () => {
    expect(renderAnthropicError(new AuthenticationError(), 'req_123').body).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'Incorrect API key provided.' },
      request_id: 'req_123',
    });
  });

  it('answers an upstream overload as 529 overloaded_error while the OpenAI routes keep 503', () => {
    const overloaded = new UpstreamStatusError(503, 'Deployment "claude": Overloaded', { code: 'overloaded_error', upstreamStatus: 529, retryAfterSeconds: 2 });
    expect(renderAnthropicError(overloaded)).toEqual({
      status: 529,
      headers: { 'retry-after': '2', 'retry-after-ms': '2000' },
      body: { type: 'error', error: { type: 'overloaded_error', message: 'Deployment "claude": Overloaded' } },
    });
    expect(renderError(overloaded, 'openai').status).toBe(503);
    // Any upstream that answered 529, whatever its body said.
    expect(renderAnthropicError(new UpstreamStatusError(503, 'busy', { upstreamStatus: 529 })).status).toBe(529);
  });

  it("keeps an Anthropic target's own error type", () => {
    const rendered = renderAnthropicError(
      new UpstreamStatusError(400, 'prompt is too long: 210000 tokens > 200000 maximum', { code: 'invalid_request_error' }),
    );
    expect(rendered.body).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } });
    expect(renderAnthropicError(new UpstreamStatusError(402, 'Your credit balance is too low', { code: 'billing_error' })).body).toMatchObject({
      error: { type: 'billing_error' },
    });
  });

  it("answers a content-filter refusal as a 400 invalid_request_error with the filter's message", () => {
    const error = new ContentFilterError({ hate: { filtered: true, severity: 'high' } });
    expect(renderAnthropicError(error)).toEqual({
      status: 400,
      headers: {},
      body: { type: 'error', error: { type: 'invalid_request_error', message: error.message } },
    });
  });

  it('never echoes the message of an unknown error', () => {
    expect(renderAnthropicError(new Error('secret internals'))).toEqual({
      status: 500,
      headers: {},
      body: { type: 'error', error: { type: 'api_error', message: 'Internal server error' } },
    });
    expect(anthropicErrorOf(new TypeError('x is undefined'))).toEqual({ type: 'api_error', message: 'Internal server error' });
  });

  it('gives the stream error event its type and message', () => {
    expect(anthropicErrorOf(new UpstreamStatusError(503, 'Overloaded', { code: 'overloaded_error', upstreamStatus: 529 }))).toEqual({
      type: 'overloaded_error',
      message: 'Overloaded',
    });
    expect(anthropicErrorOf(new UpstreamTimeoutError('slow'))).toEqual({ type: 'timeout_error', message: 'slow' });
  });
});
