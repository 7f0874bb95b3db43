import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * Credentials: provider API keys whose format identifies them on sight, private key blocks, JWTs,
 * and values assigned to a credential-named field ("password=…", `"api_key": "…"`) when the value
 * looks random rather than like a word or a placeholder. Where the field name is context, not secret,
 * only the value is matched, so redaction keeps "password=[REDACTED:SECRET]" readable.
 *
 * Formats follow the providers' own documentation and the rules secret scanners (GitHub secret
 * scanning, gitleaks) use for them.
 */
interface SecretPattern {
  readonly name: string;
  /** Global; with the `d` flag when `group` is set. */
  readonly pattern: RegExp;
  /** Capture group holding the secret when the match includes context; whole match otherwise. */
  readonly group?: number;
  /** Extra test on the secret text, for formats too loose on their own. */
  readonly accept?: (value: string) => boolean;
}

const PEM_HEADER = '-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----';
const PEM_BEGIN = new RegExp(PEM_HEADER, 'g');
const PEM_END = /-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----/g;

const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    // RFC 7468 PEM; an unterminated block (a truncated paste) is matched through its base64 body.
    name: 'private_key',
    pattern: new RegExp(String.raw`${PEM_HEADER}(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,-]*)`, 'g'),
  },
  {
    // Legacy `sk-` + 48, project `sk-proj-…`, service account `sk-svcacct-…`, admin `sk-admin-…`.
    name: 'openai_api_key',
    pattern: /(?<![\w-])sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}(?![\w-])/g,
    accept: (value) => hasMixedCaseAndDigit(value.slice(3)),
  },
  { name: 'anthropic_api_key', pattern: /(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}(?![\w-])/g },
  { name: 'aws_access_key_id', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  {
    // The secret access key is 40 base64 characters with no marker of its own: only next to its name.
    name: 'aws_secret_access_key',
    pattern: /(?<![A-Za-z0-9])(?:aws[_ .-]?)?secret[_ .-]?(?:access[_ .-]?)?key["']?[ \t]*(?::=|=>|[:=])[ \t]*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/dgi,
    group: 1,
  },
  {
    name: 'github_token',
    pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9_])/g,
  },
  { name: 'slack_token', pattern: /(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,250}(?![\w-])/g, accept: hasDigit },
  { name: 'stripe_secret_key', pattern: /(?<!\w)(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,247}(?!\w)/g },
  { name: 'google_api_key', pattern: /(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])/g },
  {
    name: 'azure_storage_key',
    pattern: /(?<![A-Za-z0-9])(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]{20,}={0,2})/dg,
    group: 1,
  },
  { name: 'azure_sas_signature', pattern: /[?&]sig=([A-Za-z0-9%+/=]{16,})/dg, group: 1 },
  {
    name: 'jwt',
    pattern: /(?<![\w-])eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}(?![\w-])/g,
  },
  {
    // scheme://user:password@host — the password only. Anchored on "://", which most texts lack.
    name: 'url_credentials',
    pattern: /:\/\/[^\s:@/?#]{1,128}:([^\s@/?#]{1,128})@/dg,
    group: 1,
  },
  {
    name: 'bearer_token',
    pattern: /(?<![A-Za-z0-9])Bearer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)(?![A-Za-z0-9._~+/=-])/dg,
    group: 1,
    accept: (value) => !isPlaceholder(value) && characterClasses(value) >= 2,
  },
];

/**
 * Credential assignments: a credential-named field assigned with = : := or =>, quoted or not —
 * DB_PASSWORD=…, client_secret: …, "apiKey": "…", accessToken=… — matched on the value only, and only
 * when the value looks random, so "password: see below" and "api_key: YOUR_API_KEY" stay. The name
 * word must start a word or a camel-case hump and may only go on after a separator or a capital, so
 * "author", "compass" and "tokenizer" are not credential names.
 *
 * Found in two steps because a single pattern with the boundary rules in front cannot start from a
 * literal and costs a try at every character: a case-insensitive scan for the name word, then, at
 * each hit, the boundary checks and a sticky pattern for the rest.
 */
const CREDENTIAL_NAME = /pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth/gi;
const CREDENTIAL_VALUE = /(?:(?:[_.-]|(?=[A-Z]))[A-Za-z0-9_.-]{0,40})?["']?[ \t]*(?::=|=>|[:=])[ \t]*(["'`]?)([^\s"'`,;]{8,256})\1/dy;

function isAlphanumeric(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

function findCredentialAssignments(text: string, found: PiiMatch[]): void {
  const names = CREDENTIAL_NAME;
  names.lastIndex = 0;
  for (let name = names.exec(text); name !== null; name = names.exec(text)) {
    if (name.index > 0 && isAlphanumeric(text.charCodeAt(name.index - 1))) {
      const first = name[0].charCodeAt(0);
      const before = text.charCodeAt(name.index - 1);
      const hump = first >= 0x41 && first <= 0x5a && !(before >= 0x41 && before <= 0x5a);
      if (!hump) continue;
    }
    const rest = CREDENTIAL_VALUE;
    rest.lastIndex = name.index + name[0].length;
    const assignment = rest.exec(text);
    const span = assignment?.indices?.[2];
    if (span === undefined) continue;
    // Name words inside the value ("password=password=…") are not looked at again, accepted or not:
    // that bounds the work on adversarial text to one evaluation per value.
    names.lastIndex = span[1];
    if (looksRandom(text.slice(span[0], span[1]))) found.push(piiMatch('secret', text, span[0], span[1]));
  }
}

const ALL_CAPS_NAME = /^[A-Z][A-Z0-9_]*$/;
const PLACEHOLDER =
  /^(?:<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[A-Za-z_]+%|\$[A-Za-z_][A-Za-z0-9_]*|x{4,}|\*{3,}|•{3,}|\.{3,}|(?:process\.env|os\.environ|env)\b.*|(?:your|my|the|some)[_-].*|.*(?:example|placeholder|changeme|redacted).*)$/i;

function hasDigit(value: string): boolean {
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code >= 0x30 && code <= 0x39) return true;
  }
  return false;
}

function hasMixedCaseAndDigit(value: string): boolean {
  let lower = false;
  let upper = false;
  let digit = false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code >= 0x61 && code <= 0x7a) lower = true;
    else if (code >= 0x41 && code <= 0x5a) upper = true;
    else if (code >= 0x30 && code <= 0x39) digit = true;
  }
  return lower && upper && digit;
}

/** How many of lower case, upper case, digits and other characters occur. */
function characterClasses(value: string): number {
  let lower = 0;
  let upper = 0;
  let digit = 0;
  let other = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code >= 0x61 && code <= 0x7a) lower = 1;
    else if (code >= 0x41 && code <= 0x5a) upper = 1;
    else if (code >= 0x30 && code <= 0x39) digit = 1;
    else other = 1;
  }
  return lower + upper + digit + other;
}

/** Per-character counts for `shannonEntropy`; reused across calls (detection is synchronous). */
const ASCII_COUNTS = new Uint32Array(128);

/** Shannon entropy in bits per character (UTF-16 code units). */
export function shannonEntropy(value: string): number {
  let others: Map<number, number> | null = null;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 128) ASCII_COUNTS[code]++;
    else (others ??= new Map()).set(code, (others.get(code) ?? 0) + 1);
  }
  let entropy = 0;
  const add = (count: number) => {
    const p = count / value.length;
    entropy -= p * Math.log2(p);
  };
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code < 128 && ASCII_COUNTS[code] !== 0) {
      add(ASCII_COUNTS[code]);
      ASCII_COUNTS[code] = 0;
    }
  }
  if (others !== null) for (const count of others.values()) add(count);
  return entropy;
}

function isPlaceholder(value: string): boolean {
  return ALL_CAPS_NAME.test(value) || PLACEHOLDER.test(value);
}

/**
 * Whether an assigned value looks like a generated secret rather than prose or a placeholder. The
 * thresholds keep "Tr0ub4dor&3" (four classes), 32-character hex tokens (two classes, ~3.8 bits) and
 * base64 keys in, and ordinary words ("correcthorse", "hunter2", "disabled") out.
 */
export function looksRandom(value: string): boolean {
  if (value.length < 8) return false;
  const classes = characterClasses(value);
  if (classes < 2 && value.length < 24) return false;
  if (isPlaceholder(value)) return false;
  const entropy = shannonEntropy(value);
  if (classes >= 3 && entropy >= 2.5) return true;
  if (classes >= 2 && value.length >= 16 && entropy >= 3.5) return true;
  return value.length >= 24 && entropy >= 4;
}

export class SecretRecognizer implements PiiRecognizer {
  readonly type = 'secret' as const;

  find(text: string, found: PiiMatch[]): void {
    for (const secret of SECRET_PATTERNS) {
      const pattern = secret.pattern;
      pattern.lastIndex = 0;
      for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        let start = match.index;
        let end = start + match[0].length;
        if (secret.group !== undefined) {
          const span = match.indices?.[secret.group];
          if (span === undefined) continue;
          [start, end] = span;
        }
        if (secret.accept !== undefined && !secret.accept(text.slice(start, end))) continue;
        found.push(piiMatch('secret', text, start, end));
      }
    }
    findCredentialAssignments(text, found);
  }

  /** A private key block whose END line has not arrived yet. */
  openMatchStart(text: string): number {
    let lastBegin = -1;
    PEM_BEGIN.lastIndex = 0;
    for (let match = PEM_BEGIN.exec(text); match !== null; match = PEM_BEGIN.exec(text)) lastBegin = match.index;
    if (lastBegin === -1) return -1;
    PEM_END.lastIndex = lastBegin;
    return PEM_END.exec(text) === null ? lastBegin : -1;
  }
}
