import type { FilterAnnotation, FilterResults } from '../api/chat-stream.js';

const NAMES: Readonly<Record<string, string>> = {
  hate: 'Hate',
  sexual: 'Sexual',
  violence: 'Violence',
  self_harm: 'Self-harm',
  jailbreak: 'Jailbreak',
  indirect_attack: 'Indirect attack',
  profanity: 'Profanity',
  protected_material_text: 'Protected text',
  protected_material_code: 'Protected code',
  custom_blocklists: 'Blocklists',
  pii: 'Personal data',
  error: 'Filter error',
};

/** What one annotation says, in words (Azure's shapes: severity, detection, blocklist hits, PII, an error). */
export function describeAnnotation(name: string, annotation: FilterAnnotation): string {
  if (name === 'error' || (annotation.code && annotation.message)) return `not filtered: ${annotation.message ?? ''} (${annotation.code ?? 'error'})`;
  const parts: string[] = [];
  if (annotation.severity !== undefined) parts.push(`severity ${annotation.severity}`);
  if (annotation.details !== undefined) {
    const hits = annotation.details.filter((detail) => detail.filtered).map((detail) => detail.id);
    parts.push(hits.length > 0 ? `matched ${hits.join(', ')}` : 'no match');
  } else if (annotation.detected !== undefined) {
    parts.push(annotation.detected ? `detected${annotation.types && annotation.types.length > 0 ? ` (${annotation.types.join(', ')})` : ''}` : 'not detected');
  }
  if (annotation.redacted) parts.push('redacted');
  if (annotation.filtered) parts.push('blocked');
  return parts.join(', ') || 'checked';
}

/** A content filter's verdict on one text (prompt or answer), one line per category, blocked ones marked. */
export function FilterAnnotations({ title, results }: { title: string; results: FilterResults | null }) {
  if (!results) return null;
  const entries = Object.entries(results);
  const blocked = entries.some(([, annotation]) => annotation.filtered);
  return (
    <div className={`filter-annotations${blocked ? ' blocked' : ''}`}>
      <span className="filter-title">{title}</span>
      <ul aria-label={title}>
        {entries.map(([name, annotation]) => (
          <li
            key={name}
            className={annotation.filtered ? 'filtered' : annotation.detected || (annotation.severity && annotation.severity !== 'safe') ? 'flagged' : ''}
          >
            <span className="filter-name">{NAMES[name] ?? name}</span> {describeAnnotation(name, annotation)}
          </li>
        ))}
      </ul>
    </div>
  );
}
