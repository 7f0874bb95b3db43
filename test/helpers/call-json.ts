/** The reply to `callJson`: its status, headers, and body parsed as JSON (the text where it is not JSON: CSV, metrics, empty). */
export interface JsonReply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** Calls `baseUrl + path` with `key` as the bearer credential and `body`, when given, as JSON. */
export async function callJson<T = any>(baseUrl: string, method: string, path: string, key: string, body?: unknown): Promise<JsonReply<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}
