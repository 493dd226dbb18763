// The hostile-input corpus: malformed and hostile manifests, by class — size and structure limits, YAML tricks
// (aliases, merge keys, cycles, duplicate keys, non-JSON values), control characters and huge values echoed in
// messages, and the field rules that would otherwise fail later at the apiserver or in Envoy (RE2 regexes, URLs,
// ports, label and annotation keys/values, header names). Each case asserts the exact error (path and message) or
// acceptance, a time bound, and that the messages are escaped and bounded; every case whose YAML parses also
// asserts that the workflow-side validation of the JSON documents (what `start` sends) gives the same verdict and
// the same errors. The worst input of each class runs in a fresh process, measured (time, peak RSS).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LineCounter } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  formatSpecErrors,
  parseCanaryYaml,
  validateCanaryBundle,
  type SpecError,
  type YamlLimits,
} from '../../../src/domain/manifest/index.js';
import { sanitize } from '../../../src/domain/sanitize.js';
import { parseYamlDocuments } from '../../../src/domain/manifest/yaml.js';
import { base, edit, withStatus, worstCases } from './hostile-inputs.js';

interface Expected {
  /** The message of one of the errors. */
  message: RegExp;
  /** Its path (exact). */
  path?: string;
  line?: number;
}

interface Case {
  name: string;
  input: string | (() => string);
  expect: 'ok' | Expected;
  limits?: Partial<YamlLimits>;
  /** Time bound in ms (default 2000: the machine is shared; these take milliseconds). */
  maxMs?: number;
}

const repeat = (n: number, f: (i: number) => string): string =>
  Array.from({ length: n }, (_, i) => f(i)).join('');
const err = (message: RegExp, path?: string, line?: number): Expected => ({
  message,
  ...(path !== undefined ? { path } : {}),
  ...(line !== undefined ? { line } : {}),
});
const MiB = 1024 * 1024;
const ESC = '\x1b';

/** A YAML double-quoted string: JSON escapes, plus \x escapes for DEL and C1 (raw, YAML refuses them). */
const yq = (s: string): string =>
  JSON.stringify(s).replace(/[\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16)}`);

// Edits aimed at the base spec's fields.
const targetPort = (v: string) => edit('    targetPort: http\n', `    targetPort: ${v}\n`);
const headerRegex = (v: string) => edit('"^(always|sometimes)$"', yq(v));
const webhookUrl = (v: string) =>
  edit('        url: http://flagger-loadtester.test/\n', `        url: ${yq(v)}\n`);
const label = (k: string, v: string) => edit('    app: podinfo\n', `    ${yq(k)}: ${yq(v)}\n`);
const annotation = (k: string, v: string) =>
  edit('    example.com/owner: team-a\n', `    ${yq(k)}: ${yq(v)}\n`);
const name = (v: string) => edit('  name: podinfo\n  namespace', `  name: ${yq(v)}\n  namespace`);
const matchBlock = (yaml: string) =>
  edit(
    '    match:\n      - uri:\n          prefix: /\n',
    `    match:\n      - uri:\n          prefix: /\n${yaml}`,
  );
const abMatch = (yaml: string) =>
  edit(
    '    maxWeight: 50\n    stepWeight: 10\n',
    `    iterations: 10\n    match:\n      - headers:\n${yaml}`,
  );

const PORT = 'spec.service.targetPort';
const REGEX = 'spec.service.match[0].headers.x-canary.regex';
const URL_PATH = 'spec.analysis.webhooks[0].url';
const badUrl = /^expected an http\(s\) URL/;
const badRegex = /^not a valid RE2 regular expression \(Envoy's syntax\): /;
const badIana = /is not a valid port name \(IANA service name: /;
const badLabelKey = /^invalid label key /;
const badLabelValue = /^invalid label value /;

const cases: Case[] = [
  // ── size ────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'one byte over 1 MiB',
    input: () => withStatus(`  x: "${'a'.repeat(MiB)}"\n`),
    expect: err(/^the spec is 1,04\d,\d{3} bytes; at most 1,048,576 bytes \(1 MiB\) is accepted$/, ''),
  },
  {
    name: 'a string just under 1 MiB',
    input: () => withStatus(`  x: "${'a'.repeat(MiB - base.length - 32)}"\n`),
    expect: 'ok',
  },
  {
    name: 'multi-byte characters count as bytes',
    input: () => withStatus(`  x: "${'é'.repeat(MiB / 2)}"\n`),
    expect: err(/^the spec is 1,04\d,\d{3} bytes/),
  },
  {
    name: 'a configured limit of 4 KiB',
    input: base + '#'.repeat(4096),
    limits: { maxBytes: 4096 },
    expect: err(/at most 4,096 bytes \(4 KiB\) is accepted/),
  },
  {
    name: 'a megabyte of comment lines',
    input: () => base + '#\n'.repeat(MiB / 2 - 1000),
    expect: err(/^too many lines and YAML indicators to parse: /),
  },
  {
    name: 'a megabyte of blank lines',
    input: () => base + '\n'.repeat(MiB - 1000),
    expect: err(/^too many lines/),
  },
  {
    name: 'a quarter million documents',
    input: () => base + '---\n'.repeat(MiB / 4 - 1000),
    expect: err(/^too many lines/),
  },
  {
    name: 'half a million flow items',
    input: () => withStatus(`  x: [${'0,'.repeat(MiB / 2 - 1000)}0]\n`),
    expect: err(/^too many lines/),
  },
  {
    name: '50,000 keys in one map',
    input: () => withStatus(repeat(50_000, (i) => `  k${i}: 0\n`)),
    expect: err(/^too many lines/),
  },
  {
    name: '24,000 keys in one map (accepted, linear)',
    input: () => withStatus(repeat(24_000, (i) => `  k${i}: 0\n`)),
    expect: 'ok',
    maxMs: 6000,
  },
  {
    name: '100,000 commas inside one quoted string',
    input: () => withStatus(`  x: "${','.repeat(100_000)}"\n`),
    expect: err(/^too many lines/),
  },
  // ── depth ───────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: '10,000 nested block sequences on one line',
    input: () => withStatus(`  - ${'- '.repeat(10_000)}x\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/, '', 45),
  },
  {
    name: '1,000 nested block sequences, one per line',
    input: () => withStatus(repeat(1000, (i) => `${' '.repeat(i + 2)}-\n`)),
    expect: err(/^YAML error: nested deeper than 64 levels/),
  },
  {
    name: '10,000 nested flow sequences',
    input: () => withStatus(`  x: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/, '', 45),
  },
  {
    name: '10,000 nested flow maps',
    input: () => withStatus(`  x: ${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/),
  },
  {
    name: '200 nested block maps',
    input: () => withStatus(repeat(200, (i) => `${' '.repeat(i + 2)}k:\n`) + `${' '.repeat(202)}v\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/),
  },
  {
    name: 'unclosed nesting, 10,000 deep',
    input: () => withStatus(`  x: ${'['.repeat(10_000)}\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/),
  },
  {
    name: '62 levels below status (64 in all)',
    input: () => withStatus(`  x: ${'['.repeat(62)}${']'.repeat(62)}\n`),
    expect: 'ok',
  },
  {
    name: '63 levels below status (65 in all)',
    input: () => withStatus(`  x: ${'['.repeat(63)}${']'.repeat(63)}\n`),
    expect: err(/^YAML error: nested deeper than 64 levels/),
  },
  {
    name: 'a depth limit of 5',
    input: base,
    limits: { maxDepth: 5 },
    expect: err(/nested deeper than 5 levels/),
  },
  // ── aliases and merge keys ──────────────────────────────────────────────────────────────────────────────────
  {
    name: 'billion laughs',
    input: () =>
      withStatus(
        `  a0: &a0 ["lol"]\n${repeat(9, (i) => `  a${i + 1}: &a${i + 1} [${repeat(10, () => `*a${i},`).slice(0, -1)}]\n`)}`,
      ),
    expect: err(
      /^YAML error: aliases expand the documents to [\d,]+ nodes \(at most 50,000\); alias \*a8 alone expands to 211,111,111 nodes$/,
    ),
  },
  {
    name: 'fan-out under the alias count: 5,000 items × 90',
    input: () =>
      withStatus(
        `  big: &big [${repeat(5000, () => '"xxxxxxxxxx",').slice(0, -1)}]\n${repeat(90, (i) => `  r${i}: *big\n`)}`,
      ),
    expect: err(
      /^YAML error: aliases expand the documents to 455,\d{3} nodes \(at most 50,000\); alias \*big alone expands to 5,001 nodes$/,
    ),
  },
  {
    name: 'fan-out of one long string (characters, not nodes)',
    input: () => withStatus(`  s: &s "${'x'.repeat(300_000)}"\n${repeat(10, (i) => `  r${i}: *s\n`)}`),
    expect: err(
      /^YAML error: aliases expand the documents to [\d,]+ characters of data \(at most 1,048,576\); alias \*s/,
    ),
  },
  {
    name: 'merge-key fan-out (exponential in a naive toJS)',
    input: () =>
      withStatus(
        `  m0: &m0 {k: v}\n${repeat(40, (i) => `  m${i + 1}: &m${i + 1}\n    <<: [*m${i}, *m${i}]\n    k${i}: v\n`)}`,
      ),
    expect: err(/^YAML error: aliases expand the documents to [\d,]+ nodes \(at most 50,000\)/),
  },
  {
    name: 'aliases across many documents add up',
    input: () =>
      `${base}${repeat(60, () => `---\n# c\n`)}${repeat(3, () => `---\nx: &b [${repeat(9000, () => '1,').slice(0, -1)}]\ny: *b\n`)}`,
    expect: err(/^YAML error: (aliases expand the documents|the documents have)/),
  },
  {
    name: 'expansion just under the budget',
    input: () =>
      withStatus(
        `  big: &big [${repeat(1000, () => '1,').slice(0, -1)}]\n${repeat(47, (i) => `  r${i}: *big\n`)}`,
      ),
    expect: 'ok',
  },
  {
    name: 'a self-referencing alias in a sequence (under the ignored status)',
    input: withStatus('  a: &a [*a]\n'),
    expect: err(/^YAML error: alias \*a is inside the node it names \(a cycle\)/, '', 45),
  },
  {
    name: 'a self-referencing alias in a map',
    input: withStatus('  a: &a {b: *a}\n'),
    expect: err(/a cycle/),
  },
  { name: 'a self-referencing merge', input: withStatus('  a: &a\n    <<: *a\n'), expect: err(/a cycle/) },
  {
    name: 'a cycle two levels down',
    input: withStatus('  a: &a\n    b:\n      c: [1, *a]\n'),
    expect: err(/a cycle/),
  },
  {
    name: 'an alias of an undefined anchor',
    input: withStatus('  a: *nope\n'),
    expect: err(/^YAML error: alias \*nope names no anchor defined before it$/, '', 45),
  },
  {
    name: 'an alias before its anchor',
    input: withStatus('  a: *later\n  b: &later 1\n'),
    expect: err(/alias \*later names no anchor/),
  },
  {
    name: 'a merge of a scalar',
    input: withStatus('  s: &s 1\n  m:\n    <<: *s\n'),
    expect: err(/^YAML error: a merge key \(<<\) takes a map/),
  },
  {
    name: 'a merge of a list of scalars',
    input: withStatus('  m:\n    <<: [1, 2]\n'),
    expect: err(/a merge key \(<<\) takes a map/),
  },
  {
    name: 'aliases and merge keys resolve to plain copies',
    input: edit(
      '        interval: 1m\n',
      '        interval: &i 1m\n      - <<: &m {thresholdRange: {max: 500}}\n        name: request-duration\n        interval: *i\n',
    ),
    expect: 'ok',
  },
  {
    name: 'an anchor redefined (the later one wins)',
    input: withStatus('  a: &x 1\n  b: &x 2\n  c: *x\n'),
    expect: 'ok',
  },
  // ── duplicate keys and odd keys ─────────────────────────────────────────────────────────────────────────────
  {
    name: 'a duplicate key',
    input: edit('    app: podinfo\n', '    app: podinfo\n    app: other\n'),
    expect: err(
      /^YAML syntax error: duplicate key "app" \(first at line 7, column 5\): map keys must be unique$/,
      '',
      8,
    ),
  },
  {
    name: 'a duplicate key 24,000 keys later (linear)',
    input: () => withStatus(`  k0: 0\n${repeat(24_000, (i) => `  k${i + 1}: 0\n`)}  k0: 1\n`),
    expect: err(/duplicate key "k0"/),
    maxMs: 6000,
  },
  {
    name: 'duplicate keys 1 and "1" (one JSON property)',
    input: withStatus('  1: a\n  "1": b\n'),
    expect: err(/duplicate key "1"/),
  },
  {
    name: 'duplicate keys true and "true"',
    input: withStatus('  true: a\n  "true": b\n'),
    expect: err(/duplicate key "true"/),
  },
  {
    name: 'a duplicate key through an alias',
    input: withStatus('  k: &k a\n  m:\n    a: 1\n    *k : 2\n'),
    expect: err(/duplicate key "a"/),
  },
  {
    name: 'a duplicate kind at the top',
    input: `kind: Canary\n${base}`,
    expect: err(/duplicate key "kind"/),
  },
  {
    name: 'a duplicate key in a flow map',
    input: withStatus('  m: {a: 1, a: 2}\n'),
    expect: err(/duplicate key "a"/),
  },
  {
    name: 'a key that is a sequence',
    input: withStatus('  ? [a]\n  : b\n'),
    expect: err(/^YAML error: a map key must be a scalar/),
  },
  {
    name: 'a key that is a map',
    input: withStatus('  ? {a: 1}\n  : b\n'),
    expect: err(/a map key must be a scalar/),
  },
  {
    name: 'a __proto__ key',
    input: edit('  provider: istio\n', '  __proto__: {polluted: true}\n  provider: istio\n'),
    expect: err(/^unknown field `__proto__`$/, 'spec.__proto__'),
  },
  {
    name: 'a constructor key',
    input: edit('  provider: istio\n', '  constructor: x\n  provider: istio\n'),
    expect: err(/^unknown field `constructor`$/, 'spec.constructor'),
  },
  {
    name: 'a __proto__ label key',
    input: label('__proto__', 'x'),
    expect: err(badLabelKey, 'metadata.labels.__proto__'),
  },
  // ── values JSON cannot carry ────────────────────────────────────────────────────────────────────────────────
  {
    name: '.inf',
    input: withStatus('  a: .inf\n'),
    expect: err(/^YAML error: \.inf is not a number JSON can carry/),
  },
  { name: '-.inf', input: withStatus('  a: -.inf\n'), expect: err(/not a number JSON can carry/) },
  { name: '.nan', input: withStatus('  a: .nan\n'), expect: err(/not a number JSON can carry/) },
  {
    name: '1e400 (overflows to Infinity)',
    input: withStatus('  a: 1e400\n'),
    expect: err(/not a number JSON can carry/),
  },
  {
    name: 'a port of 1e400',
    input: edit('    port: 9898\n', '    port: 1e400\n'),
    expect: err(/not a number JSON can carry/),
  },
  {
    name: '!!binary',
    input: withStatus('  a: !!binary aGk=\n'),
    expect: err(/^YAML error: unsupported value of type tag:yaml\.org,2002:binary/),
  },
  { name: 'an unknown tag stays a string', input: withStatus('  a: !custom hello\n'), expect: 'ok' },
  // ── control characters and encodings ───────────────────────────────────────────────────────────────────────
  {
    name: 'a raw ESC in a plain scalar',
    input: name(`pod${ESC}info`).replace(`"pod\\u001binfo"`, `pod${ESC}info`),
    expect: err(/^YAML syntax error: control character U\+001B is not allowed in YAML/, '', 4),
  },
  { name: 'a raw NUL', input: withStatus('  a: b\0c\n'), expect: err(/control character U\+0000/) },
  { name: 'a raw DEL', input: withStatus('  a: b\x7fc\n'), expect: err(/control character U\+007F/) },
  {
    name: 'a raw C1 CSI (U+009B)',
    input: withStatus('  a: b\u009b2Jc\n'),
    expect: err(/control character U\+009B/),
  },
  {
    name: 'a raw bell in a comment',
    input: `# \x07\n${base}`,
    expect: err(/control character U\+0007/, '', 1),
  },
  {
    name: 'a lone surrogate',
    input: withStatus('  a: b\ud800c\n'),
    expect: err(
      /control character U\+D800 is not allowed in YAML \(write it as an escape in a double-quoted string, e\.g\. "\\uD800"\)/,
    ),
  },
  { name: 'NEL (allowed by YAML)', input: withStatus('  a: "b\u0085c"\n'), expect: 'ok' },
  { name: 'a byte order mark', input: `\ufeff${base}`, expect: 'ok' },
  { name: 'CRLF line ends', input: base.replace(/\n/g, '\r\n'), expect: 'ok' },
  {
    name: 'escaped control characters in a name',
    input: name(`pod${ESC}]0;pwned\x07${ESC}[2J`),
    expect: err(/^"pod\\u001b\]0;pwned\\u0007\\u001b\[2J" is not a valid Kubernetes name/, 'metadata.name'),
  },
  {
    name: 'a bidi override in a name',
    input: name('pod\u202etxt.exe'),
    expect: err(/^"pod\\u202etxt\.exe" is not a valid Kubernetes name/, 'metadata.name'),
  },
  {
    name: 'an escape sequence in an unknown key',
    input: edit('  provider: istio\n', `  "x\\e[2J": 1\n  provider: istio\n`),
    expect: err(/^unknown field "x\\u001b\[2J"$/),
  },
  {
    name: 'an escape sequence in the provider',
    input: edit('  provider: istio\n', '  provider: "istio\\e[31m"\n'),
    expect: err(/^unknown provider `istio\\x1b\[31m`/, 'spec.provider'),
  },
  {
    name: 'an escape sequence in a duration',
    input: edit('    interval: 2s\n', '    interval: "2\\es"\n'),
    expect: err(/^invalid duration "2\\u001bs"/, 'spec.analysis.interval'),
  },
  // ── huge values ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'a 900 KB name',
    input: () => name('a'.repeat(900_000)),
    expect: err(/^"a{80}…" \(900,000 characters\) is not a valid Kubernetes name/, 'metadata.name'),
  },
  {
    name: 'a 900 KB unknown key',
    input: () => edit('  provider: istio\n', `  ? ${'k'.repeat(900_000)}\n  : 1\n  provider: istio\n`),
    expect: err(/^unknown field "k{80}…" \(900,000 characters\)$/),
  },
  {
    name: 'a 900 KB provider',
    input: () => edit('  provider: istio\n', `  provider: ${'p'.repeat(900_000)}\n`),
    expect: err(/^unknown provider `p+/, 'spec.provider'),
  },
  { name: 'a 500 KB URL', input: () => webhookUrl(`http://a.test/${'x'.repeat(500_000)}`), expect: 'ok' },
  {
    name: 'a 500 KB host name',
    input: () => webhookUrl(`http://${'a'.repeat(500_000)}.test/`),
    expect: err(badUrl, URL_PATH),
  },
  {
    name: 'a 500 KB duration',
    input: () => edit('    interval: 2s\n', `    interval: "${'9'.repeat(500_000)}s"\n`),
    expect: err(/^invalid duration "9{80}…" \(500,001 characters\)/),
  },
  {
    name: '24,000 unknown fields (one error each, linear)',
    input: () => edit('    interval: 2s\n', `    interval: 2s\n${repeat(24_000, (i) => `    u${i}: 0\n`)}`),
    expect: err(/^unknown field `u0`$/, 'spec.analysis.u0', 31),
    maxMs: 8000,
  },
  // ── RE2 regexes (what Envoy runs) ───────────────────────────────────────────────────────────────────────────
  { name: 'a valid RE2 regex', input: headerRegex('^(?i)[a-z]+-\\d{1,3}$'), expect: 'ok' },
  { name: 'RE2 named group (?P<x>…)', input: headerRegex('^(?P<v>v[0-9]+)$'), expect: 'ok' },
  { name: 'RE2 Unicode class', input: headerRegex('^\\p{Greek}+$'), expect: 'ok' },
  {
    name: 'lookahead',
    input: headerRegex('a(?=b)'),
    expect: err(
      /^not a valid RE2 regular expression \(Envoy's syntax\): invalid or unsupported Perl syntax: `\(\?=`$/,
      REGEX,
      25,
    ),
  },
  { name: 'lookbehind', input: headerRegex('(?<=a)b'), expect: err(badRegex, REGEX) },
  {
    name: 'backreference',
    input: headerRegex('(a)\\1'),
    expect: err(/invalid escape sequence: `\\1`/, REGEX),
  },
  { name: 'unbalanced parenthesis', input: headerRegex('(abc'), expect: err(/missing closing \)/, REGEX) },
  { name: 'unbalanced bracket', input: headerRegex('[abc'), expect: err(/missing closing \]/, REGEX) },
  {
    name: 'reversed range',
    input: headerRegex('[z-a]'),
    expect: err(/invalid character class range/, REGEX),
  },
  {
    name: 'repeat count over 1000',
    input: headerRegex('a{1001}'),
    expect: err(/invalid repeat count/, REGEX),
  },
  {
    name: 'nested repetition',
    input: headerRegex('a**'),
    expect: err(/invalid nested repetition operator/, REGEX),
  },
  { name: 'possessive quantifier', input: headerRegex('a++'), expect: err(badRegex, REGEX) },
  { name: 'atomic group', input: headerRegex('(?>a)'), expect: err(badRegex, REGEX) },
  { name: '\\C (any byte)', input: headerRegex('a\\Cb'), expect: err(badRegex, REGEX) },
  {
    name: 'nesting beyond RE2s limit',
    input: () => headerRegex(`${'('.repeat(2000)}${')'.repeat(2000)}`),
    expect: err(/expression nests too deeply/, REGEX),
  },
  {
    name: 'a 5,000-character regex',
    input: () => headerRegex('a'.repeat(5000)),
    expect: err(/^the regular expression is 5000 characters long \(at most 4096\)$/, REGEX),
  },
  {
    name: 'an invalid uri regex',
    input: matchBlock('        method:\n          regex: "GET|(POST"\n'),
    expect: err(badRegex, 'spec.service.match[0].method.regex'),
  },
  {
    name: 'an invalid A/B header regex',
    input: abMatch('          x-user:\n            regex: "(?!admin)"\n'),
    expect: err(badRegex, 'spec.analysis.match[0].headers.x-user.regex'),
  },
  {
    name: 'an invalid withoutHeaders regex',
    input: matchBlock('        withoutHeaders:\n          x-debug:\n            regex: "\\\\"\n'),
    expect: err(badRegex, 'spec.service.match[0].withoutHeaders.x-debug.regex'),
  },
  {
    name: 'an invalid CORS origin regex',
    input: edit(
      '    apex:\n',
      '    corsPolicy:\n      allowOrigins:\n        - regex: "*.example.com"\n    apex:\n',
    ),
    expect: err(/missing argument to repetition operator/, 'spec.service.corsPolicy.allowOrigins[0].regex'),
  },
  // ── header names and values ─────────────────────────────────────────────────────────────────────────────────
  {
    name: 'a header name with a space',
    input: edit('          x-canary:', '          "x canary":'),
    expect: err(/^"x canary" is not a valid HTTP header name/, 'spec.service.match[0].headers["x canary"]'),
  },
  {
    name: 'a header name with a newline',
    input: edit('          x-canary:', '          "x-canary\\nx-evil":'),
    expect: err(/^"x-canary\\nx-evil" is not a valid HTTP header name/),
  },
  {
    name: 'an empty header name',
    input: edit('          x-canary:', '          "":'),
    expect: err(/is not a valid HTTP header name/),
  },
  {
    name: 'a header set with CRLF in its value',
    input: edit(
      '    apex:\n',
      '    headers:\n      request:\n        set:\n          x-a: "v\\r\\nx-evil: 1"\n    apex:\n',
    ),
    expect: err(/^a header value may not contain control characters/, 'spec.service.headers.request.set.x-a'),
  },
  {
    name: 'a header removed by an invalid name',
    input: edit('    apex:\n', '    headers:\n      response:\n        remove: ["x(bad)"]\n    apex:\n'),
    expect: err(/is not a valid HTTP header name/, 'spec.service.headers.response.remove[0]'),
  },
  // ── URLs ────────────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: 'a valid URL with port, path, query and fragment',
    input: webhookUrl('https://hooks.example.com:8443/a/b?c=d&e=%20#f'),
    expect: 'ok',
  },
  { name: 'an IPv6 URL', input: webhookUrl('http://[::1]:8080/'), expect: 'ok' },
  {
    name: 'an ESC in a URL',
    input: webhookUrl(`http://flagger-loadtester.test/${ESC}[2J`),
    expect: err(
      /got "http:\/\/flagger-loadtester\.test\/\\u001b\[2J": a URL may not contain spaces or control characters/,
      URL_PATH,
    ),
  },
  {
    name: 'a NUL in a URL',
    input: webhookUrl('http://a.test/\0'),
    expect: err(/a URL may not contain spaces or control characters/, URL_PATH),
  },
  {
    name: 'a DEL in a URL',
    input: webhookUrl('http://a.test/\x7f'),
    expect: err(/a URL may not contain spaces or control characters/, URL_PATH),
  },
  {
    name: 'a C1 control in a URL',
    input: webhookUrl('http://a.test/\u0085'),
    expect: err(/a URL may not contain spaces or control characters/, URL_PATH),
  },
  {
    name: 'a bidi override in a URL',
    input: webhookUrl('http://a.test/\u202e'),
    expect: err(/a URL may not contain spaces or control characters/, URL_PATH),
  },
  {
    name: 'a space in a URL',
    input: webhookUrl('http://a.test/a b'),
    expect: err(/a URL may not contain spaces/, URL_PATH),
  },
  {
    name: 'a tab in a URL',
    input: webhookUrl('http://a.test/\tb'),
    expect: err(/a URL may not contain spaces/, URL_PATH),
  },
  {
    name: 'a CRLF in a URL',
    input: webhookUrl('http://a.test/\r\nHost: evil'),
    expect: err(/a URL may not contain spaces/, URL_PATH),
  },
  {
    name: 'a no-break space in a URL',
    input: webhookUrl('http://a.test/\u00a0'),
    expect: err(/a URL may not contain spaces/, URL_PATH),
  },
  {
    name: 'port 0',
    input: webhookUrl('http://a.test:0/'),
    expect: err(/port 0 is not in 1\.\.65535/, URL_PATH),
  },
  {
    name: 'port 70000',
    input: webhookUrl('http://a.test:70000/'),
    expect: err(/port 70000 is not in 1\.\.65535/, URL_PATH),
  },
  {
    name: 'a bad percent-escape',
    input: webhookUrl('http://a.test/%zz'),
    expect: err(/invalid percent-escape/, URL_PATH),
  },
  {
    name: 'a truncated percent-escape',
    input: webhookUrl('http://a.test/%4'),
    expect: err(/invalid percent-escape/, URL_PATH),
  },
  { name: 'an ftp URL', input: webhookUrl('ftp://a.test/'), expect: err(badUrl, URL_PATH) },
  { name: 'a javascript: URL', input: webhookUrl('javascript:alert(1)'), expect: err(badUrl, URL_PATH) },
  { name: 'a file URL', input: webhookUrl('file:///etc/passwd'), expect: err(badUrl, URL_PATH) },
  { name: 'no host', input: webhookUrl('http:///path'), expect: err(badUrl, URL_PATH) },
  { name: 'userinfo', input: webhookUrl('http://user:pass@a.test/'), expect: err(badUrl, URL_PATH) },
  {
    name: 'a host label of 64 characters',
    input: webhookUrl(`http://${'a'.repeat(64)}.test/`),
    expect: err(badUrl, URL_PATH),
  },
  {
    name: 'an ESC in a MetricTemplate address',
    input: `${base}---\napiVersion: flagger.app/v1beta1\nkind: MetricTemplate\nmetadata:\n  name: t\n  namespace: test\nspec:\n  provider:\n    type: prometheus\n    address: "http://prom\\e.test/"\n  query: up\n`,
    expect: err(/a URL may not contain spaces or control characters/, 'doc[1].spec.provider.address'),
  },
  {
    name: 'a space in an AlertProvider address',
    input: `${base}---\napiVersion: flagger.app/v1beta1\nkind: AlertProvider\nmetadata:\n  name: a\n  namespace: test\nspec:\n  type: webhook\n  address: "http://a.test/x y"\n`,
    expect: err(/a URL may not contain spaces/, 'doc[1].spec.address'),
  },
  // ── ports ───────────────────────────────────────────────────────────────────────────────────────────────────
  { name: 'targetPort 8080', input: targetPort('8080'), expect: 'ok' },
  { name: 'targetPort 65535', input: targetPort('65535'), expect: 'ok' },
  { name: 'targetPort http-metrics', input: targetPort('http-metrics'), expect: 'ok' },
  { name: 'targetPort of 15 characters', input: targetPort('abcdefghijklmno'), expect: 'ok' },
  {
    name: 'targetPort "not a port!"',
    input: targetPort('"not a port!"'),
    expect: err(
      /^"not a port!" is not a valid port name \(IANA service name: lowercase letters, digits and '-' only/,
      PORT,
      18,
    ),
  },
  {
    name: 'targetPort "8080" (quoted digits)',
    input: targetPort('"8080"'),
    expect: err(/IANA service name: a port number is written without quotes/, PORT),
  },
  { name: 'targetPort 0', input: targetPort('0'), expect: err(/^must be >= 1, got 0$/, PORT) },
  {
    name: 'targetPort 65536',
    input: targetPort('65536'),
    expect: err(/^must be <= 65535, got 65536$/, PORT),
  },
  { name: 'targetPort -1', input: targetPort('-1'), expect: err(/must be >= 1/, PORT) },
  {
    name: 'targetPort 80.5',
    input: targetPort('80.5'),
    expect: err(/^expected a port number or a port name, got number$/, PORT),
  },
  {
    name: 'targetPort of 16 characters',
    input: targetPort('abcdefghijklmnop'),
    expect: err(/at most 15 characters \(got 16\)/, PORT),
  },
  { name: 'targetPort with a leading hyphen', input: targetPort('-http'), expect: err(badIana, PORT) },
  { name: 'targetPort with a trailing hyphen', input: targetPort('http-'), expect: err(badIana, PORT) },
  {
    name: 'targetPort with a double hyphen',
    input: targetPort('ht--tp'),
    expect: err(/IANA service name: no '--'/, PORT),
  },
  { name: 'targetPort in upper case', input: targetPort('HTTP'), expect: err(badIana, PORT) },
  {
    name: 'targetPort without a letter',
    input: targetPort('"80-80"'),
    expect: err(/IANA service name: at least one letter/, PORT),
  },
  { name: 'targetPort with an underscore', input: targetPort('http_alt'), expect: err(badIana, PORT) },
  {
    name: 'portName with a space',
    input: edit('    portName: http\n', '    portName: "http web"\n'),
    expect: err(/is not a valid DNS label/, 'spec.service.portName'),
  },
  {
    name: 'appProtocol with a space',
    input: edit('    portName: http\n', '    portName: http\n    appProtocol: "h 2"\n'),
    expect: err(/is not a valid qualified name/, 'spec.service.appProtocol'),
  },
  {
    name: 'appProtocol kubernetes.io/h2c',
    input: edit('    portName: http\n', '    portName: http\n    appProtocol: kubernetes.io/h2c\n'),
    expect: 'ok',
  },
  // ── labels and annotations ──────────────────────────────────────────────────────────────────────────────────
  { name: 'a prefixed label key', input: label('app.kubernetes.io/name', 'podinfo'), expect: 'ok' },
  { name: 'an empty label value', input: label('app', ''), expect: 'ok' },
  {
    name: 'a label key with a leading hyphen',
    input: label('-app', 'x'),
    expect: err(badLabelKey, 'metadata.labels["-app"]', 7),
  },
  { name: 'a label key with a trailing dot', input: label('app.', 'x'), expect: err(badLabelKey) },
  {
    name: 'a label key of 64 characters',
    input: label('a'.repeat(64), 'x'),
    expect: err(/the name part is 64 characters long \(at most 63\)/),
  },
  { name: 'a label key with two slashes', input: label('a/b/c', 'x'), expect: err(badLabelKey) },
  {
    name: 'a label key with an upper-case prefix',
    input: label('Example.com/x', 'x'),
    expect: err(/the prefix before \/ must be a DNS subdomain/),
  },
  {
    name: 'a label key with an empty prefix',
    input: label('/x', 'x'),
    expect: err(/the prefix before \/ must not be empty/),
  },
  {
    name: 'a label key with an empty name',
    input: label('example.com/', 'x'),
    expect: err(/the name must not be empty/),
  },
  { name: 'an empty label key', input: label('', 'x'), expect: err(/the name must not be empty/) },
  {
    name: 'a label key with an ESC',
    input: label(`a${ESC}b`, 'x'),
    expect: err(/^invalid label key "a\\u001bb"/),
  },
  {
    name: 'a label value of 64 characters',
    input: label('app', 'v'.repeat(64)),
    expect: err(/a label value is at most 63 characters \(got 64\)/, 'metadata.labels.app'),
  },
  {
    name: 'a label value with a space',
    input: label('app', 'bad value'),
    expect: err(badLabelValue, 'metadata.labels.app'),
  },
  { name: 'a label value with a leading hyphen', input: label('app', '-x'), expect: err(badLabelValue) },
  {
    name: 'an invalid apex label',
    input: edit('        tier: web\n', '        "tier!": web\n'),
    expect: err(badLabelKey, 'spec.service.apex.labels["tier!"]'),
  },
  {
    name: 'an invalid sourceLabels value',
    input: matchBlock('        sourceLabels:\n          app: "a b"\n'),
    expect: err(badLabelValue, 'spec.service.match[0].sourceLabels.app'),
  },
  {
    name: 'an annotation key with an upper-case name',
    input: annotation('Example.com/Owner', 'x'),
    expect: 'ok',
  },
  {
    name: 'an annotation key with a space',
    input: annotation('owner name', 'x'),
    expect: err(/^invalid annotation key "owner name"/, 'metadata.annotations["owner name"]'),
  },
  {
    name: 'annotations over 256 KiB',
    input: () => annotation('big', 'x'.repeat(262_200)),
    expect: err(
      /^annotations total 262,20\d characters; Kubernetes accepts at most 262,144 bytes$/,
      'metadata.annotations',
    ),
  },
  {
    name: 'an annotation value with control characters (allowed)',
    input: annotation('note', 'a\tb'),
    expect: 'ok',
  },
];

const hasRawControl = (text: string): boolean =>
  // eslint-disable-next-line no-control-regex -- control characters are what this looks for
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(text);

/** No shared objects and no cycles: every object is reached once. */
function isTree(value: unknown, seen = new Set<object>()): boolean {
  if (typeof value !== 'object' || value === null) return true;
  if (seen.has(value)) return false;
  seen.add(value);
  return Object.values(value).every((v) => isTree(v, seen));
}

const strip = (errors: readonly SpecError[]) =>
  errors.map(({ path, message }) => `${path}: ${message}`).sort((a, b) => a.localeCompare(b));

describe('hostile-input corpus', () => {
  it('has at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  for (const c of cases) {
    it(c.name, () => {
      const text = typeof c.input === 'string' ? c.input : c.input();
      const t0 = performance.now();
      const result = parseCanaryYaml(text, 'hostile.yaml', c.limits);
      const ms = performance.now() - t0;
      expect(ms, `took ${Math.round(ms)} ms`).toBeLessThan(c.maxMs ?? 2000);

      if (c.expect === 'ok') {
        expect(result.ok ? [] : formatSpecErrors(result.errors, 'hostile.yaml').split('\n')).toEqual([]);
      } else {
        const { message, path, line } = c.expect;
        expect(result.ok).toBe(false);
        const errors = result.ok ? [] : result.errors;
        // Messages as the CLI shows them (control characters escaped, long values cut).
        const hit = errors.find(
          (e) => message.test(sanitize(e.message, { max: 600 })) && (path === undefined || e.path === path),
        );
        expect(
          hit,
          `no error matches ${String(message)}${path !== undefined ? ` at ${path}` : ''}:\n${formatSpecErrors(errors).slice(0, 2000)}`,
        ).toBeDefined();
        if (line !== undefined) expect(hit?.line).toBe(line);
        // What the CLI prints: escaped, bounded, one line per error.
        const shown = formatSpecErrors(errors, `hostile${ESC}[2J.yaml`);
        expect(hasRawControl(shown)).toBe(false);
        const lines = shown.split('\n');
        expect(lines.length).toBeLessThanOrEqual(101);
        for (const l of lines) expect(l.length).toBeLessThan(2000);
      }

      // validate and start agree: the YAML front end's documents are plain JSON (no shared references, no
      // cycles, JSON-stable), and the workflow-side validation of exactly those documents gives the same errors.
      const front = parseYamlDocuments(text, new LineCounter(), c.limits);
      if (!front.ok) {
        expect(result.ok).toBe(false);
        return;
      }
      expect(isTree(front.documents)).toBe(true);
      const payload = JSON.parse(JSON.stringify(front.documents)) as unknown[];
      expect(payload).toEqual(front.documents);
      const fromJson = validateCanaryBundle(payload);
      expect(fromJson.ok).toBe(result.ok);
      if (!fromJson.ok && !result.ok) expect(strip(fromJson.errors)).toEqual(strip(result.errors));
    });
  }

  it('resolves aliases and merge keys to independent copies, as the yaml package would', () => {
    const text = withStatus(
      '  a: &a {x: [1, 2], y: {z: 1}}\n  b: *a\n  c:\n    <<: *a\n    y: override\n  d: {<<: [*a, {w: 1}], x: mine}\n',
    );
    const r = parseCanaryYaml(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const status = (r.value.documents[0] as { status: Record<string, Record<string, unknown>> }).status;
    expect(status).toEqual({
      a: { x: [1, 2], y: { z: 1 } },
      b: { x: [1, 2], y: { z: 1 } },
      c: { x: [1, 2], y: 'override' },
      d: { x: 'mine', y: { z: 1 }, w: 1 },
    });
    expect(status.a).not.toBe(status.b);
    expect(status.a?.x).not.toBe(status.b?.x);
    expect(isTree(r.value.documents)).toBe(true);
  });

  it('lists at most 100 problems, then their count', () => {
    const text = edit('    interval: 2s\n', `    interval: 2s\n${repeat(250, (i) => `    u${i}: 0\n`)}`);
    const r = parseCanaryYaml(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(250);
    const lines = formatSpecErrors(r.errors, 'x.yaml').split('\n');
    expect(lines).toHaveLength(101);
    expect(lines[100]).toBe('… and 150 more problems (250 in all)');
  });
});

/** Runs one worst case in a fresh process (test/support/measure-spec.ts): its own time and peak RSS. */
function measure(name: string): Promise<{
  case: string;
  bytes: number;
  ms: number;
  baseRssMb: number;
  peakRssMb: number;
  ok: boolean;
  error: string | null;
}> {
  const script = fileURLToPath(new URL('../../support/measure-spec.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, name],
      { timeout: 60_000, maxBuffer: 1 << 20 },
      (e, stdout, stderr) => {
        if (e) reject(new Error(`${name}: ${e.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Awaited<ReturnType<typeof measure>>);
      },
    );
  });
}

describe('worst inputs, measured in a fresh process', () => {
  it('every worst case ends within 5 s and grows the peak RSS by less than 200 MB', async () => {
    const names = Object.keys(worstCases);
    const results: Array<Awaited<ReturnType<typeof measure>>> = [];
    // Two at a time: the machine has two cores.
    for (let i = 0; i < names.length; i += 2)
      results.push(...(await Promise.all(names.slice(i, i + 2).map(measure))));
    const table = results
      .map(
        (r) =>
          `${r.case.padEnd(26)} ${String(r.bytes).padStart(8)} B ${String(r.ms).padStart(5)} ms  peak RSS ${r.peakRssMb} MB (+${r.peakRssMb - r.baseRssMb} MB)  ${r.ok ? 'valid' : r.error?.slice(0, 70)}`,
      )
      .join('\n');
    console.log(`worst hostile inputs (parse + validate + workflow-side validation):\n${table}`);
    for (const r of results) {
      expect(r.ms, r.case).toBeLessThan(5000);
      expect(r.peakRssMb - r.baseRssMb, r.case).toBeLessThan(200);
      const frontEndError = r.error !== null && /^(YAML|too many lines|the spec is)/.test(r.error);
      expect(!frontEndError, `${r.case}: ${r.error ?? ''}`).toBe(worstCases[r.case]?.accepted);
    }
  }, 180_000);
});
