/**
 * The data-plane api-versions Azure OpenAI publishes (inference specs, GA and preview). A dated
 * route with any other value, or none, gets Azure's 404 "Resource not found".
 */
export const AZURE_API_VERSIONS: ReadonlySet<string> = new Set([
  '2022-12-01',
  '2023-05-15',
  '2024-02-01',
  '2024-06-01',
  '2024-10-21',
  '2023-03-15-preview',
  '2023-06-01-preview',
  '2023-07-01-preview',
  '2023-08-01-preview',
  '2023-09-01-preview',
  '2023-10-01-preview',
  '2023-12-01-preview',
  '2024-02-15-preview',
  '2024-03-01-preview',
  '2024-04-01-preview',
  '2024-05-01-preview',
  '2024-07-01-preview',
  '2024-08-01-preview',
  '2024-09-01-preview',
  '2024-10-01-preview',
  '2024-12-01-preview',
  '2025-01-01-preview',
  '2025-02-01-preview',
  '2025-03-01-preview',
  '2025-04-01-preview',
]);

/** On `/openai/v1/...` routes api-version is optional; these are the values Azure accepts there. */
export const AZURE_V1_API_VERSIONS: ReadonlySet<string> = new Set(['v1', 'preview', 'latest']);
