/**
 * Renders an admin result for people: tables for lists, `name: value` lines for objects, and every
 * time field (`at`, `createdAt`, `expires_at`, `cooling_until`…) as ISO 8601 in the viewer's time zone (`TZ`), where
 * the API gives epoch milliseconds or UTC. `--json` bypasses this and prints the API's values.
 */
export function renderResult(result: unknown, table?: { readonly field: string; readonly columns?: readonly string[] }): string {
  if (result && typeof result === 'object' && Array.isArray((result as { data?: unknown }).data)) {
    return tableOf((result as { data: Array<Record<string, unknown>> }).data);
  }
  if (table && result && typeof result === 'object' && Array.isArray((result as Record<string, unknown>)[table.field])) {
    const { [table.field]: rows, ...rest } = result as Record<string, unknown>;
    return `${renderResult(rest)}\n${tableOf(rows as Array<Record<string, unknown>>, table.columns)}`;
  }
  if (result && typeof result === 'object') {
    return `${Object.entries(result as Record<string, unknown>)
      .filter(([name]) => name !== 'key')
      .map(([name, value]) => {
        if (isListOfObjects(value)) return `${name}:${value.map((item) => `\n  - ${fieldsLine(item)}`).join('')}`;
        if (isPlainObject(value))
          return `${name}:${Object.entries(value)
            .map(([inner, innerValue]) => `\n  ${inner}: ${cell(inner, innerValue)}`)
            .join('')}`;
        return `${name}: ${cell(name, value)}`;
      })
      .join('\n')}\n`;
  }
  return `${String(result)}\n`;
}

/** Rows as a table under a header line, each column as wide as its widest cell (at most 60). */
function tableOf(rows: ReadonlyArray<Record<string, unknown>>, only?: readonly string[]): string {
  if (rows.length === 0) return '(none)\n';
  const columns = only ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const widths = columns.map((column) => Math.min(60, Math.max(column.length, ...rows.map((row) => cell(column, row[column]).length))));
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => value.slice(0, widths[i]).padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(columns.map((c) => cell(c, row[c]))))].join('\n')}\n`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0;
}

function isListOfObjects(value: unknown): value is Array<Record<string, unknown>> {
  return Array.isArray(value) && value.length > 0 && value.every(isPlainObject);
}

/** `seq: 5, problem: deleted, detail: …` for one item of a nested list (e.g. the problems `audit verify` finds). */
function fieldsLine(item: Record<string, unknown>): string {
  return Object.entries(item)
    .map(([name, value]) => `${name}: ${cell(name, value)}`)
    .join(', ');
}

/** Field names that hold a point in time (`at`, `createdAt`, `expires_at`, `cooling_until`). */
const TIME_FIELD = /^(at|[a-z]+At|[a-z_]+_at|[a-z_]+_until)$/;
/** A UTC date-time as the API writes one (`toISOString`). */
const UTC_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function cell(name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (TIME_FIELD.test(name)) {
    if (typeof value === 'number' && Number.isFinite(value)) return localTime(value);
    if (typeof value === 'string' && UTC_ISO.test(value)) return localTime(Date.parse(value));
  }
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/** `2025-03-01T14:05:09+01:00`: ISO 8601 with the local offset (`Z` in UTC), to the second. */
export function localTime(epochMs: number): string {
  const date = new Date(epochMs);
  const offset = -date.getTimezoneOffset();
  const local = new Date(epochMs + offset * 60_000).toISOString().slice(0, 19);
  if (offset === 0) return `${local}Z`;
  const magnitude = Math.abs(offset);
  return `${local}${offset > 0 ? '+' : '-'}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`;
}
