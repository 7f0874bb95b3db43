import { ModelNotFoundError } from '../../errors/catalogue.js';
import type { Principal } from '../../pipeline/authenticate.js';
import type { DeploymentTable } from '../../pipeline/pick-target.js';
import type { JsonObject } from '../../providers/provider.js';
import type { DirectOperation } from '../api-operation.js';
import { azureFamily } from '../azure/azure-family.js';
import { openAIFamily } from './openai-family.js';

export interface ModelsDependencies {
  /** The deployment table in force. */
  readonly table: () => DeploymentTable;
  /** Whether the caller may call a deployment (key scope, project role, limited access); absent: every deployment. */
  readonly mayUse?: (principal: Principal, deployment: string, projectHint: string | undefined) => boolean;
}

/**
 * GET /v1/models and /v1/models/{id} (and Azure's): the deployments, as OpenAI lists models. The
 * caller sees only deployments its credential may call.
 */
export function modelsOperations(dependencies: ModelsDependencies): DirectOperation[] {
  const modelObject = (name: string): JsonObject => {
    const table = dependencies.table();
    return { id: name, object: 'model', created: table.createdAt, owned_by: table.get(name)?.provider.name ?? 'cerulean' };
  };
  const usable = (principal: Principal, name: string, hint: string | undefined): boolean => dependencies.mayUse?.(principal, name, hint) ?? true;
  return [
    {
      kind: 'direct',
      routes: [
        { family: openAIFamily, method: 'GET', url: '/v1/models' },
        { family: azureFamily, method: 'GET', url: '/openai/v1/models', apiVersion: 'v1' },
        { family: azureFamily, method: 'GET', url: '/openai/models', apiVersion: 'dated' },
      ],
      handle: async (call) => ({
        object: 'list',
        data: dependencies
          .table()
          .list()
          .filter(({ name }) => usable(call.principal, name, call.projectHint))
          .map(({ name }) => modelObject(name)),
      }),
    },
    {
      kind: 'direct',
      routes: [
        { family: openAIFamily, method: 'GET', url: '/v1/models/:id' },
        { family: azureFamily, method: 'GET', url: '/openai/v1/models/:id', apiVersion: 'v1' },
      ],
      handle: async (call) => {
        const id = call.params.id;
        if (!dependencies.table().get(id) || !usable(call.principal, id, call.projectHint)) throw new ModelNotFoundError(id);
        return modelObject(id);
      },
    },
  ];
}
