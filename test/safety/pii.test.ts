import { afterEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors/catalogue.js';
import { PiiDetector, redactionToken, type PiiMatch, type PiiType } from '../../src/safety/pii/pii-detector.js';
import { StreamingRedactor } from '../../src/safety/pii/streaming-redactor.js';

// One detector for the whole file, as the gateway builds one at start.
const detector = new PiiDetector();

function only(type: PiiType): PiiDetector {
  return new PiiDetector({ types: [type] });
}

describe('PiiDetector: email', () => {
  const email = only('email');
  it.each([
    ['write to jane.doe@example.com today', 'jane.doe@example.com'],
    ['first.last+tag@mail.example.co.uk', 'first.last+tag@mail.example.co.uk'],
    ['<USER_1@Example.ORG>', 'USER_1@Example.ORG'],
    ['mailto:ops-team@corp.example.io.', 'ops-team@corp.example.io'],
    ['see:.john@corp.example.net', 'john@corp.example.net'],
  ])('finds the address in %j', (text, expected) => {
    expect(email.detect(text).map((match) => match.text)).toEqual([expected]);
  });

  it.each([
    'a@b',
    'user@localhost',
    'icon@2x.png',
    'follow @handle on the site',
    'john..doe@example.com',
    'name@-example.com',
    'foo@bar.c',
    'npm i @scope/package@1.2.3',
  ])('finds nothing in %j', (text) => {
    expect(email.detect(text)).toEqual([]);
  });
});

describe('PiiDetector: phone', () => {
  const phone = only('phone');
  it.each([
    ['call +1 (415) 555-2671 now', '+1 (415) 555-2671'],
    ['office (213) 373-4253.', '(213) 373-4253'],
    ['dots 213.373.4253 work too', '213.373.4253'],
    ['UK +44 20 7946 0958', '+44 20 7946 0958'],
    ['Berlin +49 30 901820', '+49 30 901820'],
    ['Paris +33 1 42 68 53 00', '+33 1 42 68 53 00'],
    ['India +91 98765 43210', '+91 98765 43210'],
    ['tel:+14155552671', '+14155552671'],
    ['desk (213) 373-4253 ext. 1234', '(213) 373-4253 ext. 1234'],
  ])('finds the valid number in %j', (text, expected) => {
    expect(phone.detect(text).map((match) => match.text)).toEqual([expected]);
  });

  it.each([
    '(555) 123-4567', // 555 is not an area code
    '123-456-7890', // area codes do not start with 1
    'order 12345678',
    'on 2024-01-15',
    'id 1234567890',
    'pi is 3.14159265358',
    'build 1.2.3.4.5.6.7',
    'call 373-4253', // local-only, no area code
    '+1 555 0100', // too short
  ])('finds nothing in %j', (text) => {
    expect(phone.detect(text)).toEqual([]);
  });

  it('ends a number at a comma instead of reading what follows as an extension (a dialling pause)', () => {
    expect(phone.detect('+44 20 7946 0958, 4111 left').map((match) => match.text)).toEqual(['+44 20 7946 0958']);
  });

  it('reads national numbers in the configured region', () => {
    expect(phone.detect('ring 020 7946 0958')).toEqual([]);
    const british = new PiiDetector({ types: ['phone'], defaultRegion: 'GB' });
    expect(british.detect('ring 020 7946 0958').map((match) => match.text)).toEqual(['020 7946 0958']);
  });

  it('finds several numbers written one after another', () => {
    expect(phone.detect('lines: (213) 373-4253 / (415) 555-2671').map((match) => match.text)).toEqual(['(213) 373-4253', '(415) 555-2671']);
    expect(phone.detect('lines: (213) 373-4253 (415) 555-2671').map((match) => match.text)).toEqual(['(213) 373-4253', '(415) 555-2671']);
    expect(phone.detect('2133734253 4155552671 +44 20 7946 0958').map((match) => match.text)).toEqual(['2133734253', '4155552671', '+44 20 7946 0958']);
    expect(phone.detect('scores 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15')).toEqual([]);
  });
});

describe('PiiDetector: credit_card', () => {
  const card = only('credit_card');
  it.each([
    ['4111 1111 1111 1111', 'Visa, spaced'],
    ['4111-1111-1111-1111', 'Visa, dashed'],
    ['4111111111111111', 'Visa, contiguous'],
    ['5555 5555 5555 4444', 'Mastercard'],
    ['2223003122003222', 'Mastercard 2-series'],
    ['3782 822463 10005', 'Amex 4-6-5'],
    ['6011 1111 1111 1117', 'Discover'],
    ['3530111333300000', 'JCB'],
    ['3056 930902 5904', 'Diners 4-6-4'],
    ['6200000000000005', 'UnionPay'],
  ])('finds %s (%s)', (number) => {
    expect(card.detect(`pay with ${number}, thanks`).map((match) => match.text)).toEqual([number]);
  });

  it.each([
    ['4111 1111 1111 1112', 'Luhn fails'],
    ['1111 1111 1111 1117', 'Luhn passes, no scheme starts with 1'],
    ['7000000000000005', 'Luhn passes, unknown prefix'],
    ['4111 1111-1111 1111', 'mixed separators'],
    ['41111111111111111111', '20 digits'],
    ['ID4111111111111111', 'inside a word'],
  ])('finds nothing in %s (%s)', (number) => {
    expect(card.detect(`ref ${number} end`)).toEqual([]);
  });

  it('picks the card out of a longer run of numbers', () => {
    expect(card.detect('4111 1111 1111 1111 1226 123').map((match) => match.text)).toEqual(['4111 1111 1111 1111']);
  });
});

describe('PiiDetector: iban', () => {
  const iban = only('iban');
  it.each([
    'DE89 3704 0044 0532 0130 00',
    'GB82WEST12345698765432',
    'GB82 WEST 1234 5698 7654 32',
    'FR14 2004 1010 0505 0001 3M02 606',
    'NL91ABNA0417164300',
    'BE68539007547034',
    'NO9386011117947',
  ])('finds %s', (number) => {
    expect(iban.detect(`IBAN: ${number}. Thanks`).map((match) => match.text)).toEqual([number]);
  });

  it.each([
    ['GB82 WEST 1234 5698 7654 33', 'checksum'],
    ['DE89 3704 0044 0532 0130 0', 'one character short for DE'],
    ['XX89 3704 0044 0532 0130 00', 'unknown country'],
    ['de89 3704 0044 0532 0130 00', 'lower case'],
    ['DE89370400440532013000ABC', 'glued to more letters'],
  ])('finds nothing in %s (%s)', (number) => {
    expect(iban.detect(`IBAN: ${number} end`)).toEqual([]);
  });
});

describe('PiiDetector: us_ssn', () => {
  const ssn = only('us_ssn');
  it('finds dashed numbers and labelled ones', () => {
    expect(ssn.detect('SSN 123-45-6789 on file').map((match) => match.text)).toEqual(['123-45-6789']);
    expect(ssn.detect('SSN: 123456789').map((match) => match.text)).toEqual(['123456789']);
    expect(ssn.detect('social security number 123 45 6789').map((match) => match.text)).toEqual(['123 45 6789']);
  });

  it.each([
    ['000-12-3456', 'area 000'],
    ['666-12-3456', 'area 666'],
    ['900-12-3456', 'area 9xx'],
    ['999-12-3456', 'area 9xx'],
    ['123-00-4567', 'group 00'],
    ['123-45-0000', 'serial 0000'],
    ['078-05-1120', 'voided (Woolworth wallet card)'],
    ['219-09-9999', 'voided'],
    ['123456789', 'unlabelled nine digits'],
    ['1123-45-6789', 'part of a longer number'],
  ])('finds nothing in %s (%s)', (number) => {
    expect(ssn.detect(`value ${number} end`)).toEqual([]);
  });
});

describe('PiiDetector: ip_address', () => {
  const ip = only('ip_address');
  it.each([
    ['host 192.168.1.1 up', '192.168.1.1'],
    ['dns 8.8.8.8.', '8.8.8.8'],
    ['mask 255.255.255.255', '255.255.255.255'],
    ['bind 0.0.0.0:8080', '0.0.0.0'],
    ['v6 2001:0db8:85a3:0000:0000:8a2e:0370:7334 full', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'],
    ['v6 2001:db8::1 compressed', '2001:db8::1'],
    ['loopback ::1 here', '::1'],
    ['link fe80::1%eth0', 'fe80::1'],
    ['mapped ::ffff:192.0.2.128 addr', '::ffff:192.0.2.128'],
    ['url http://[2001:db8::1]:443/', '2001:db8::1'],
    ['down: fe80::1: unreachable', 'fe80::1'],
  ])('finds the address in %j', (text, expected) => {
    expect(ip.detect(text).map((match) => match.text)).toEqual([expected]);
  });

  it.each([
    ['256.1.1.1', 'octet over 255'],
    ['version 1.2.3', 'three parts'],
    ['oid 1.2.3.4.5', 'five parts'],
    ['01.2.3.4', 'leading zero'],
    ['v1.2.3.4', 'glued to a letter'],
    ['std::map<int, int>', 'C++ scope'],
    ['at 12:30:45', 'time'],
    ['mac 00:1A:2B:3C:4D:5E', 'MAC address'],
    ['a::b', 'no digit'],
    ['2001:db8:::1', 'triple colon'],
    ['1:2:3:4:5:6:7:8:9', 'nine groups'],
  ])('finds nothing in %j (%s)', (text) => {
    expect(ip.detect(text)).toEqual([]);
  });
});

describe('PiiDetector: secret', () => {
  const secret = only('secret');
  const openAiLegacy = 'sk-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v2W3x4';
  const openAiProject = 'sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hi5Kl7No9Qr1Tu3Wx5Za7Cd9Fg1Ij3Lm5Op7Rs9Uv1Xy3_-Ab5De7Gh9Jk1Mn3Pq5';
  const anthropic = `sk-ant-api03-${'Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hi5Kl7No9Qr1Tu3Wx5Za7Cd9Fg1Ij3Lm5Op7Rs9Uv1Xy3-Ab5De7Gh9Jk1Mn3Pq5'}AA`;
  const githubPat = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd';
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
  const accountKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  const pem = [
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun',
    'VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK',
    '-----END RSA PRIVATE KEY-----',
  ].join('\n');

  it.each([
    ['OpenAI legacy key', openAiLegacy],
    ['OpenAI project key', openAiProject],
    ['Anthropic key', anthropic],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
    ['AWS temporary key id', 'ASIAY34FZKBOKMUTVV7A'],
    ['GitHub classic PAT', 'ghp_0123456789abcdefghijABCDEFGHIJ012345'],
    ['GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['GitHub user-to-server token', 'ghu_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['GitHub server-to-server token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
    ['GitHub refresh token', 'ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498'],
    ['GitHub fine-grained PAT', githubPat],
    ['Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
    ['Slack user token', 'xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef'],
    ['Stripe live secret key', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
    ['Stripe restricted key', 'rk_live_51H8a7bC2dE3fG4hI5jK6lM7n'],
    ['Google API key', 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q'],
    ['JWT', jwt],
    ['PEM private key', pem],
  ])('finds a %s', (_name, value) => {
    expect(secret.detect(`here: ${value} (keep it safe)`).map((match) => match.text)).toEqual([value]);
  });

  it('finds the AWS secret access key only next to its name, and matches the value alone', () => {
    const value = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    expect(secret.detect(`aws_secret_access_key = ${value}`).map((match) => match.text)).toEqual([value]);
    expect(secret.detect(`AWS_SECRET_ACCESS_KEY="${value}"`).map((match) => match.text)).toEqual([value]);
    expect(secret.detect(`the string ${value} alone`)).toEqual([]);
  });

  it('redacts the key of an Azure storage connection string, keeping the rest readable', () => {
    const connection = `DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=${accountKey};EndpointSuffix=core.windows.net`;
    expect(secret.redact(connection)).toBe('DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=[REDACTED:SECRET];EndpointSuffix=core.windows.net');
  });

  it('redacts a private key block that was cut off before its END line', () => {
    const truncated = pem.split('\n').slice(0, 3).join('\n');
    expect(secret.redact(`key:\n${truncated}`)).toBe('key:\n[REDACTED:SECRET]');
  });

  it('redacts the password of URL credentials, not the host', () => {
    expect(detector.redact('DATABASE_URL=postgres://admin:S3cr3tPass@db.example.com:5432/app')).toBe(
      'DATABASE_URL=postgres://admin:[REDACTED:SECRET]@db.example.com:5432/app',
    );
  });

  it.each([
    ['password=Tr0ub4dor&3', 'Tr0ub4dor&3'],
    ['"api_key": "9f86d081884c7d659a2feaa0c55ad015"', '9f86d081884c7d659a2feaa0c55ad015'],
    ["DB_PASSWORD='s3cr3t-P@ss'", 's3cr3t-P@ss'],
    ['clientSecret: aB3dE5fG7hJ9kL1m', 'aB3dE5fG7hJ9kL1m'],
    ['accessToken := Zx9-Qw8_Er7.Ty6', 'Zx9-Qw8_Er7.Ty6'],
    ['Authorization: Bearer 9f86d081884c7d659a2feaa0c55ad015', '9f86d081884c7d659a2feaa0c55ad015'],
  ])('finds the high-entropy value assigned in %j', (text, value) => {
    expect(secret.detect(text).map((match) => match.text)).toEqual([value]);
  });

  it.each([
    'password: see below',
    'api_key: YOUR_API_KEY',
    'password=hunter2',
    'token: ${API_TOKEN}',
    'max_tokens: 100000000',
    'the author: JaneDoe2024!',
    'compass: N45W12345',
    'sk-learn-is-a-python-library-name',
    'ghp_short',
    'xoxo-hugs-and-kisses',
    'sk_live_short',
    'AKIA123',
    'XAKIAIOSFODNN7EXAMPLE',
    'password = correcthorsebatterystaple',
  ])('finds nothing in %j', (text) => {
    expect(secret.detect(text)).toEqual([]);
  });
});

describe('PiiDetector: ordinary text', () => {
  it('reports nothing in prose full of numbers that are not personal data', () => {
    const prose = [
      'Release v10.2.3 (build 1.4.2-rc.7) shipped on 2024-01-15T10:30:00Z, fixing issue #4521 and order 12345678.',
      'The UUID 123e4567-e89b-12d3-a456-426614174000 maps to commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3.',
      'Prices: $1,234.56, 12.5%, 1,000,000 units; room 101, floor 7; coordinates 40.7128, -74.0060.',
      'ISBN 978-3-16-148410-0, colour #ff0000, ratio 16:9, times 09:15 and 12:30:45, C++ and std::vector.',
      'Invoice INV-2024-000123 dated 15/01/2024 and 01.02.2023; tracking 1Z999AA10123456784; zip 94105-1234.',
    ].join(' ');
    expect(detector.detect(prose)).toEqual([]);
    expect(detector.redact(prose)).toBe(prose);
  });

  it('returns nothing for empty text', () => {
    expect(detector.detect('')).toEqual([]);
    expect(detector.redact('')).toBe('');
  });
});

describe('PiiDetector: results and redaction', () => {
  it('reports UTF-16 offsets, sorted, with the matched text', () => {
    const text = '😀 jane@example.com then 10.0.0.1';
    const matches = detector.detect(text);
    expect(matches).toEqual<PiiMatch[]>([
      { type: 'email', start: 3, end: 19, text: 'jane@example.com' },
      { type: 'ip_address', start: 25, end: 33, text: '10.0.0.1' },
    ]);
    for (const match of matches) expect(text.slice(match.start, match.end)).toBe(match.text);
  });

  it('replaces each match with [REDACTED:<TYPE>]', () => {
    const text =
      'Mail jane.doe@example.com or call +1 (415) 555-2671; card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, host 10.1.2.3, key AKIAIOSFODNN7EXAMPLE.';
    expect(detector.redact(text)).toBe(
      'Mail [REDACTED:EMAIL] or call [REDACTED:PHONE]; card [REDACTED:CREDIT_CARD], IBAN [REDACTED:IBAN], SSN [REDACTED:US_SSN], host [REDACTED:IP_ADDRESS], key [REDACTED:SECRET].',
    );
  });

  it('names every type in its token', () => {
    expect(redactionToken('email')).toBe('[REDACTED:EMAIL]');
    expect(redactionToken('us_ssn')).toBe('[REDACTED:US_SSN]');
    expect(redactionToken('ip_address')).toBe('[REDACTED:IP_ADDRESS]');
  });

  it('redacts with given matches, skipping overlapping and unsorted ones safely', () => {
    const text = 'a jane@example.com b';
    const email: PiiMatch = { type: 'email', start: 2, end: 18, text: 'jane@example.com' };
    const inner: PiiMatch = { type: 'secret', start: 4, end: 8, text: 'ne@e' };
    expect(detector.redact(text, [inner, email])).toBe('a [REDACTED:EMAIL] b');
    expect(detector.redact(text, [])).toBe(text);
  });

  it('resolves overlaps: the longer match wins, and a tie goes to the stronger type', () => {
    // The credential value is also an e-mail address of the same length: secret outranks email.
    expect(detector.detect('password=john.Doe1@corp-mail.net').map((match) => [match.type, match.text])).toEqual([['secret', 'john.Doe1@corp-mail.net']]);
    // An IPv4-mapped IPv6 address contains an IPv4 address; one match, the whole address.
    expect(detector.detect('from ::ffff:192.0.2.128 today').map((match) => match.text)).toEqual(['::ffff:192.0.2.128']);
    // A card number is not also reported as a phone number, and a phone is not cut out of an IBAN.
    expect(detector.detect('4111 1111 1111 1111').map((match) => match.type)).toEqual(['credit_card']);
    expect(detector.detect('GB82 WEST 1234 5698 7654 32').map((match) => match.type)).toEqual(['iban']);
    // An e-mail whose local part is a phone number is one e-mail.
    expect(detector.detect('write to 4155552671@txt.example.com').map((match) => match.type)).toEqual(['email']);
  });

  it('never returns overlapping matches', () => {
    const text = `${'password=john.Doe1@corp-mail.net +1 (415) 555-2671 ::ffff:10.0.0.1 4111111111111111 '.repeat(20)}`;
    const matches = detector.detect(text);
    for (let index = 1; index < matches.length; index++) expect(matches[index].start).toBeGreaterThanOrEqual(matches[index - 1].end);
  });

  it('detects only the configured types', () => {
    const emailOnly = only('email');
    expect(emailOnly.detect('jane@example.com +1 (415) 555-2671 10.0.0.1').map((match) => match.type)).toEqual(['email']);
  });
});

describe('PiiDetector: configuration', () => {
  it('rejects unknown types and regions with InvalidRequestError', () => {
    const unknownType = () => new PiiDetector({ types: ['email', 'passport' as PiiType] });
    expect(unknownType).toThrow(InvalidRequestError);
    expect(unknownType).toThrow(/Unknown PII type "passport"/);
    const unknownRegion = () => new PiiDetector({ defaultRegion: 'XX' as never });
    expect(unknownRegion).toThrow(/Unknown phone region "XX"/);
    try {
      unknownRegion();
    } catch (error) {
      expect((error as InvalidRequestError).code).toBe('invalid_pii_config');
      expect((error as InvalidRequestError).status).toBe(400);
    }
    expect(() => new PiiDetector({ phoneCacheSize: -1 })).toThrow(InvalidRequestError);
  });
});

describe('PiiDetector: built once', () => {
  const OriginalRegExp = globalThis.RegExp;
  afterEach(() => {
    globalThis.RegExp = OriginalRegExp;
  });

  it('constructs no RegExp while detecting', () => {
    // The phone recogniser is left out: libphonenumber builds its own expressions inside each parse
    // (V8 caches their compiled code), which this count would include.
    const noPhone = new PiiDetector({ types: ['email', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret'] });
    let constructed = 0;
    globalThis.RegExp = new Proxy(OriginalRegExp, {
      construct(target, args, newTarget) {
        constructed++;
        return Reflect.construct(target, args, newTarget);
      },
    });
    const text = 'jane@example.com 4111 1111 1111 1111 DE89 3704 0044 0532 0130 00 123-45-6789 10.0.0.1 2001:db8::1 password=Tr0ub4dor&3 AKIAIOSFODNN7EXAMPLE';
    for (let run = 0; run < 5; run++) expect(noPhone.detect(text)).toHaveLength(8);
    noPhone.redact(text);
    expect(constructed).toBe(0);
  });
});

describe('PiiDetector: performance', () => {
  it('scans 16,000 characters of mixed text in a few milliseconds', () => {
    const parts = [
      'The quarterly report was reviewed on 2024-03-15 by the operations team, and version 1.4.2 of the client shipped with order 12345678. ',
      'Please reach Jane at jane.doe@example.com or call +1 (415) 555-2671 before Friday; the backup line is (213) 373-4253 ext. 12. ',
      'Invoice #2024-0042 totals $1,234.56 for 3 seats; the UUID is 123e4567-e89b-12d3-a456-426614174000. ',
      'Server 10.0.12.7 answered in 35 ms, while 2001:db8::8a2e:370:7334 timed out at 12:30:45 UTC. ',
      'const config = { retries: 3, timeoutMs: 1500, model: "gpt-4o-mini", temperature: 0.2 }; // std::map in C++\n',
      'Transfer to DE89 3704 0044 0532 0130 00 was confirmed; a test card 4111 1111 1111 1111 was declined. ',
      'The SSN field (123-45-6789) must never be logged; set api_key: sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdEFGH in the vault. ',
      'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. ',
    ];
    let text = '';
    for (let index = 0; text.length < 16_000; index++) text += parts[index % parts.length];
    text = text.slice(0, 16_000);
    const uncached = new PiiDetector({ phoneCacheSize: 0 });
    for (let run = 0; run < 20; run++) uncached.detect(text);
    const times: number[] = [];
    for (let run = 0; run < 50; run++) {
      const started = performance.now();
      uncached.detect(text);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    // Typically well under 2 ms; the bound is loose so that a busy CI machine does not fail it.
    expect(times[25]).toBeLessThan(10);
  });
});

describe('StreamingRedactor', () => {
  const secret = 'sk-proj-Ab3De5Gh7Jk9Mn1Pq3St5Vw7Yz9Bc1Ef3Hi5Kl7No9Qr1Tu3Wx5Za7Cd9Fg1Ij3Lm5Op7Rs9Uv1Xy3';

  /** Streams `pieces`, returning what was emitted at each push and at flush. */
  function stream(pieces: readonly string[], redactor = new StreamingRedactor(detector)): string[] {
    const emitted = pieces.map((piece) => redactor.push(piece));
    emitted.push(redactor.flush());
    return emitted;
  }

  /** No emitted chunk contains any `window`-character piece of `value` (any longer piece contains one). */
  function expectNoFragment(emitted: readonly string[], value: string, window = 6): void {
    const leaks: string[] = [];
    for (const chunk of emitted) {
      for (let start = 0; start + window <= value.length; start++) {
        if (chunk.includes(value.slice(start, start + window))) leaks.push(chunk);
      }
    }
    expect(leaks).toEqual([]);
  }

  it('never emits part of a secret that arrives one character at a time', () => {
    const text = `Your key is ${secret} — keep it safe and rotate it monthly.`;
    const emitted = stream([...text]);
    expect(emitted.join('')).toBe(detector.redact(text));
    expect(emitted.join('')).toContain('[REDACTED:SECRET]');
    expectNoFragment(emitted, secret);
  });

  it('gives the same result as whole-text redaction for any split of a mixed text', () => {
    const text =
      'Contact jane.doe@example.com or +1 (415) 555-2671. Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, ' +
      `SSN 123-45-6789, host 2001:db8::1, token ${secret}, password=Tr0ub4dor&3 and AKIAIOSFODNN7EXAMPLE. ` +
      'Nothing else here but ordinary words that carry no personal data at all, repeated to pass the hold-back window. '.repeat(3);
    const expected = detector.redact(text);
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let trial = 0; trial < 40; trial++) {
      const pieces: string[] = [];
      for (let cursor = 0; cursor < text.length;) {
        const size = 1 + Math.floor(random() * (trial % 2 === 0 ? 6 : 40));
        pieces.push(text.slice(cursor, cursor + size));
        cursor += size;
      }
      const emitted = stream(pieces);
      expect(emitted.join('')).toBe(expected);
      for (const value of [secret, 'jane.doe@example.com', 'AKIAIOSFODNN7EXAMPLE', 'Tr0ub4dor&3']) expectNoFragment(emitted, value, 8);
    }
  });

  it('holds an e-mail address split across deltas until it is complete', () => {
    const emitted = stream(['Write to jane.do', 'e@exam', 'ple.com', ' today.']);
    expect(emitted.join('')).toBe('Write to [REDACTED:EMAIL] today.');
    expect(emitted.some((chunk) => chunk.includes('jane') || chunk.includes('exam'))).toBe(false);
  });

  it('holds a spaced card number whose groups arrive as separate words', () => {
    const emitted = stream(['Card: 4111 ', '1111 ', '1111 ', '1111', ' expires soon.']);
    expect(emitted.join('')).toBe('Card: [REDACTED:CREDIT_CARD] expires soon.');
    expect(emitted.some((chunk) => chunk.includes('4111'))).toBe(false);
  });

  it('holds a private key block until its END line, however many deltas it takes', () => {
    const lines = [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      ...Array.from({ length: 30 }, (_, index) => `b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW${index}`),
      '-----END OPENSSH PRIVATE KEY-----',
    ];
    const pieces = ['Here is the key:\n', ...lines.map((line) => `${line}\n`), 'Do not share it.'];
    const emitted = stream(pieces);
    expect(emitted.join('')).toBe('Here is the key:\n[REDACTED:SECRET]\nDo not share it.');
    expect(emitted.some((chunk) => chunk.includes('b3BlbnNzaC1r'))).toBe(false);
  });

  it('emits ordinary text before the stream ends, holding back only the tail', () => {
    const redactor = new StreamingRedactor(detector);
    const words = 'plain words without any personal data in them at all '.repeat(10);
    const early = redactor.push(words);
    expect(early.length).toBeGreaterThan(0);
    expect(words.length - early.length).toBeLessThanOrEqual(64 + 1);
    expect(early + redactor.flush()).toBe(words);
    expect(redactor.push('')).toBe('');
    expect(redactor.flush()).toBe('');
  });

  it('releases everything, redacted, once more than maxHeldChars are held', () => {
    const redactor = new StreamingRedactor(detector, { holdBackChars: 8, maxHeldChars: 100 });
    const token = `x${'A'.repeat(150)}`;
    expect(redactor.push(`word ${token}`)).toBe(`word ${token}`);
    expect(redactor.flush()).toBe('');
  });

  it('rejects impossible options', () => {
    expect(() => new StreamingRedactor(detector, { holdBackChars: -1 })).toThrow(InvalidRequestError);
    expect(() => new StreamingRedactor(detector, { holdBackChars: 64, maxHeldChars: 10 })).toThrow(InvalidRequestError);
  });
});
