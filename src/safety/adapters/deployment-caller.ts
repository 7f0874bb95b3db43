import { UpstreamUnreachableError } from '../../errors/catalogue.js';
import { ClassifierUnavailableError, type Classification, type ClassifyInput, type Signal, type TextClassifier } from '../classifier.js';
import type { DeploymentTable } from '../../pipeline/pick-target.js';
import { OpenAIProvider } from '../../providers/openai/openai-provider.js';
import type { JsonObject, UpstreamRequest } from '../../providers/provider.js';
import type { Route } from '../../pipeline/pick-target.js';

/**
 * Lets a classifier use a model through one of Cerulean's own deployments: same providers, pools,
 * timeouts and retries as inference traffic, without going through the inference pipeline (a
 * classifier call is neither filtered, metered nor charged to a project).
 */
export class DeploymentCaller {
  private readonly table: () => DeploymentTable;

  constructor(table: () => DeploymentTable) {
    this.table = table;
  }

  private async send(route: Route, request: UpstreamRequest, deployment: string, signal: AbortSignal): Promise<unknown> {
    const { text } = await route.client.sendBuffered(request, { deployment, signal });
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UpstreamUnreachableError(`Deployment "${deployment}" answered with a body that is not JSON.`);
    }
  }

  /** A non-streaming chat completion, in OpenAI's shape whatever the provider. */
  async chat(deployment: string, body: JsonObject, signal: AbortSignal): Promise<JsonObject> {
    const route = this.table().pick(deployment, 'chat');
    const request = route.provider.buildRequest('chat', body, route.target, false);
    const json = await this.send(route, request, deployment, signal);
    return route.provider.parseResponse('chat', json, route.target, body).body;
  }

  /** OpenAI's `/moderations` on the deployment's upstream (openai or openai-compatible providers). */
  async moderate(deployment: string, input: string[], signal: AbortSignal): Promise<JsonObject> {
    const route = this.table().pick(deployment, 'chat');
    if (!(route.provider instanceof OpenAIProvider)) {
      throw new UpstreamUnreachableError(`Deployment "${deployment}" is not on an OpenAI-shaped provider with a /moderations endpoint.`);
    }
    return (await this.send(route, route.provider.buildModerationRequest(input, route.target), deployment, signal)) as JsonObject;
  }
}

/**
 * A classifier that asks a model behind one of Cerulean's deployments: each call runs within the
 * classifier's timeout (and the caller's signal), and any failure to get an answer is reported as
 * the classifier being unavailable, for the policy's `on_error` to decide.
 */
export abstract class DeploymentClassifier implements TextClassifier {
  readonly name: string;
  abstract readonly provides: ReadonlySet<Signal>;
  protected readonly caller: DeploymentCaller;
  protected readonly deployment: string;
  private readonly timeoutMs: number;

  constructor(name: string, caller: DeploymentCaller, deployment: string, timeoutMs: number) {
    this.name = name;
    this.caller = caller;
    this.deployment = deployment;
    this.timeoutMs = timeoutMs;
  }

  abstract classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification>;

  /** Runs `call` under the timeout; `what` names the deployment's role in the error message. */
  protected async ask<T>(what: string, call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    try {
      return await call(signal ? AbortSignal.any([signal, timeout]) : timeout);
    } catch (error) {
      throw new ClassifierUnavailableError(this.name, `${what} deployment "${this.deployment}" failed`, { cause: error });
    }
  }
}
