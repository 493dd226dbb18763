import { describe, expect, it } from 'vitest';
import { builtinQueries, escapeRegex, renderQuery, type TemplateContext } from '../../src/domain/promql.js';
import { trimQuery } from '../../src/integrations/metrics/prometheus.js';

const ctx: TemplateContext = {
  namespace: 'test',
  target: 'podinfo',
  interval: '1m',
  variables: { route: 'GET /', code: '5..' },
};

const withV = (v: string): TemplateContext => ({ ...ctx, variables: { v } });
const render = (tpl: string, v: string): ReturnType<typeof renderQuery> => renderQuery(tpl, withV(v));

// An independent reading of the rendered query: its string literals, as Prometheus's lexer delimits them, and their
// values after Go unquoting. Fails on a `#` comment outside strings (the query is one line: it would eat the rest).
function literals(query: string): Array<{ quote: string; value: string }> {
  const found: Array<{ quote: string; value: string }> = [];
  let i = 0;
  while (i < query.length) {
    const ch = query.charAt(i);
    if (ch === '#') throw new Error(`comment outside strings at ${i}: ${query}`);
    if (ch !== '"' && ch !== "'" && ch !== '`') {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < query.length && query.charAt(j) !== ch) j += ch !== '`' && query.charAt(j) === '\\' ? 2 : 1;
    if (j >= query.length) throw new Error(`unterminated string at ${i}: ${query}`);
    const body = query.slice(i + 1, j);
    found.push({ quote: ch, value: ch === '`' ? body : goUnquote(body, ch) });
    i = j + 1;
  }
  return found;
}

function goUnquote(body: string, quote: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  for (let i = 0; i < body.length;) {
    const cp = body.codePointAt(i) ?? 0;
    const c = String.fromCodePoint(cp);
    if (c === '\n') throw new Error('raw newline in a quoted string');
    if (c !== '\\') {
      bytes.push(...enc.encode(c));
      i += c.length;
      continue;
    }
    const e = body.charAt(i + 1);
    if (simple[e] !== undefined) bytes.push(simple[e]);
    else if (e === quote) bytes.push(quote.charCodeAt(0));
    else if (e === 'x') bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
    else if (e === 'u' || e === 'U') {
      const n = e === 'u' ? 4 : 8;
      bytes.push(...enc.encode(String.fromCodePoint(parseInt(body.slice(i + 2, i + 2 + n), 16))));
      i += n;
    } else throw new Error(`escape \\${e} is not valid in a ${quote}-quoted string`);
    i += e === 'x' ? 4 : 2;
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

function renderOk(tpl: string, v: string): string {
  const r = render(tpl, v);
  if (!r.ok) throw new Error(r.error);
  return r.query;
}

describe('PromQL rendering: built-in queries', () => {
  it("renders Flagger's Istio request-success-rate exactly (whitespace collapsed)", () => {
    const r = renderQuery(builtinQueries.istio['request-success-rate'], ctx);
    expect(r).toEqual({
      ok: true,
      query:
        'sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[1m] ) ) / sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) * 100',
    });
  });

  it('renders request-duration as the p99 in ms', () => {
    const r = renderQuery(builtinQueries.istio['request-duration'], ctx);
    expect(r.ok && r.query).toBe(
      'histogram_quantile( 0.99, sum( rate( istio_request_duration_milliseconds_bucket{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m] ) ) by (le) )',
    );
  });

  it('matches a target name with regex metacharacters literally (escaped for RE2, then for the string)', () => {
    const r = renderQuery(builtinQueries.istio['request-duration'], { ...ctx, target: 'podinfo.v2' });
    expect(r.ok && r.query).toContain(
      'destination_workload_namespace="test", destination_workload=~"podinfo\\\\.v2"',
    );
    for (const name of ['podinfo-canary', 'a-b-1', 'web']) {
      const q = renderQuery(builtinQueries.istio['request-success-rate'], { ...ctx, target: name });
      expect(q.ok && q.query).toContain(`destination_workload=~"${name}"`);
    }
  });
});

describe('PromQL rendering: Flagger MetricTemplate queries', () => {
  const notFound = `
    # 404s as a percentage of all requests, for the canary's workload only ("target")
    100 - sum(
        rate(
            istio_requests_total{
              reporter="{{ variables.reporter }}", # 'destination' or 'source'
              destination_workload_namespace="{{ namespace }}",
              destination_workload="{{ target }}",
              response_code!="404"
            }[{{ interval }}]
        )
    )
    /
    sum(
        rate(
            istio_requests_total{
              reporter="{{ variables.reporter }}",
              destination_workload_namespace="{{ namespace }}",
              destination_workload="{{ target }}"
            }[{{ interval }}]
        )
    ) * 100
  `;
  const latency = `histogram_quantile(
      {{ variables.quantile }},   # p99 by default; don't go above 0.999
      sum(
        rate(
          http_request_duration_seconds_bucket{
            kubernetes_namespace="{{ namespace }}",
            kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
            route='{{ variables.route }}'
          }[{{ interval }}]
        )
      ) by (le)
    )`;
  const vars = { reporter: 'destination', quantile: '0.99', route: 'GET /api/{id}' };

  it.each([
    [
      'multi-line with comments (one with an apostrophe, one after a matcher)',
      notFound,
      '100 - sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload="podinfo", response_code!="404" }[1m] ) ) / sum( rate( istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload="podinfo" }[1m] ) ) * 100',
    ],
    [
      'a regex written in the template around {{ target }}, a number variable, a single-quoted variable',
      latency,
      'histogram_quantile( 0.99, sum( rate( http_request_duration_seconds_bucket{ kubernetes_namespace="test", kubernetes_pod_name=~"podinfo-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)", route=\'GET /api/{id}\' }[1m] ) ) by (le) )',
    ],
    [
      'a comment at the very end without a line break, CRLF line ends',
      'sum(rate(x{ns="{{ namespace }}"}[{{ interval }}]))\r\n/ sum(rate(y[{{ interval }}])) # total',
      'sum(rate(x{ns="test"}[1m])) / sum(rate(y[1m]))',
    ],
    [
      '`#` and an apostrophe inside strings are text, not comments',
      "x{a=\"# {{ namespace }}'s\", b='#'} # real comment",
      "x{a=\"# test's\", b='#'}",
    ],
    ['a placeholder inside a comment is dropped with it', '# uses {{ variables.absent }}\nup', 'up'],
    [
      'a backquoted string keeps backslashes; {{ service }} and a raw regex',
      'x{a=`{{ service }}`, b=~`{{ target }}\\d+`}',
      'x{a=`podinfo.test`, b=~`podinfo\\d+`}',
    ],
  ])('%s', (_name, tpl, expected) => {
    const r = renderQuery(tpl, { ...ctx, service: 'podinfo.test', variables: vars });
    expect(r).toEqual({ ok: true, query: expected });
  });
});

describe('PromQL rendering: bypasses', () => {
  it.each([
    [
      'an apostrophe in a comment, then a double-quoted placeholder',
      '# the canary\'s error rate\nx{a="{{ variables.v }}"}',
      '"} or vector(1) or x{a="',
      'x{a="\\"} or vector(1) or x{a=\\""}',
    ],
    [
      'an apostrophe in a trailing comment, then a placeholder on the next line',
      'x{a="b"} # don\'t\n+ y{a="{{ variables.v }}"}',
      'a"} or vector(1) #\'',
      'x{a="b"} + y{a="a\\"} or vector(1) #\'"}',
    ],
    [
      'a comment mid-query: the lines after it stay in the query',
      'sum(x{a="{{ variables.v }}"}) # numerator\n/\nsum(x) # denominator\n* 100',
      'ok',
      'sum(x{a="ok"}) / sum(x) * 100',
    ],
    [
      '`=~` with a `.*|` injection is matched literally',
      'x{a=~"{{ variables.v }}"}',
      '.*|other',
      'x{a=~"\\\\.\\\\*\\\\|other"}',
    ],
    ['`!~` likewise, across whitespace', 'x{a !~ "{{ variables.v }}"}', 'a.b', 'x{a !~ "a\\\\.b"}'],
    ['`=~` in single quotes', "x{a=~'{{ variables.v }}'}", "(it's)", "x{a=~'\\\\(it\\'s\\\\)'}"],
    ['`=~` in a raw string', 'x{a=~`{{ variables.v }}`}', '[a]+', 'x{a=~`\\[a\\]\\+`}'],
    [
      'label_replace: regex argument escaped, `$` in the replacement not expanded',
      'label_replace(up, "dst", "{{ variables.v }}", "src", "{{ variables.v }}")',
      '$1.x',
      'label_replace(up, "dst", "$$1.x", "src", "\\\\$1\\\\.x")',
    ],
    ['`=` is not a regex', 'x{a="{{ variables.v }}"}', '.*', 'x{a=".*"}'],
    [
      'quote and comment in a value',
      'x{a="{{ variables.v }}"}',
      'a"} or vector(1) #',
      'x{a="a\\"} or vector(1) #"}',
    ],
    ['backslash', 'x{a="{{ variables.v }}"}', 'a\\', 'x{a="a\\\\"}'],
    ['backslash then quote', 'x{a="{{ variables.v }}"}', '\\"', 'x{a="\\\\\\""}'],
    [
      'single quotes: only the apostrophe is escaped',
      "x{a='{{ variables.v }}'}",
      'it\'s "q"',
      "x{a='it\\'s \"q\"'}",
    ],
    ['newline', 'x{a="{{ variables.v }}"}', 'a\nb', 'x{a="a\\nb"}'],
    ['CR, tab, bell, vertical tab', 'x{a="{{ variables.v }}"}', '\r\t\x07\v', 'x{a="\\r\\t\\a\\v"}'],
    [
      'NUL, ESC, DEL, C1 control',
      'x{a="{{ variables.v }}"}',
      '\0\x1b[31m\x7f\u0085',
      'x{a="\\x00\\x1b[31m\\x7f\\u0085"}',
    ],
    [
      'invisible and non-ASCII whitespace',
      'x{a="{{ variables.v }}"}',
      'a\u00a0b\u2028c\u200bd\ufeff',
      'x{a="a\\u00a0b\\u2028c\\u200bd\\ufeff"}',
    ],
    ['unicode text is kept', 'x{a="{{ variables.v }}"}', 'café ☕ 日本 😀', 'x{a="café ☕ 日本 😀"}'],
    ['unicode in a regex', 'x{a=~"{{ variables.v }}"}', 'ü.😀', 'x{a=~"ü\\\\.😀"}'],
    [
      'spaces the collapse would change are written \\x20',
      'x{a="{{ variables.v }}"}',
      '  a  b ',
      'x{a="\\x20\\x20a\\x20\\x20b\\x20"}',
    ],
    ['single inner spaces are kept', 'x{a=" {{ variables.v }} "}', 'GET /', 'x{a=" GET / "}'],
    [
      'a template expression in a value is text',
      'x{a="{{ variables.v }}"}',
      '{{ namespace }}',
      'x{a="{{ namespace }}"}',
    ],
  ])('%s', (_name, tpl, value, expected) => {
    expect(render(tpl, value)).toEqual({ ok: true, query: expected });
  });

  it.each([
    ['duration', '5m'],
    ['compound duration', '1h30m'],
    ['milliseconds', '500ms'],
    ['number', '0.99'],
    ['integer', '100'],
    ['metric name', 'http_requests_total'],
    ['recording rule name', 'job:http_requests:rate5m'],
    ['label name', 'le'],
  ])('outside strings, a plain token passes: %s', (_name, value) => {
    expect(render('rate(x[{{ variables.v }}])', value)).toEqual({ ok: true, query: `rate(x[${value}])` });
  });

  it.each([
    ['0-up', '0-up'],
    ['range selector break-out', '1m]) or vector(1'],
    ['signed exponent (the sign would be an operator next to a name)', '1e+5'],
    ['negative number', '-1'],
    ['empty', ''],
    ['surrounding space', ' 5m'],
    ['fractional duration', '1.5m'],
    ['dotted name', 'a.b'],
    ['keyword', 'or'],
    ['keyword in capitals', 'UNLESS'],
    ['modifier keyword', 'offset'],
    ['comment', '5m#'],
    ['string', '"x"'],
    ['unicode name', 'é'],
  ])('outside strings, a non-plain token is refused: %s', (_name, value) => {
    const r = render('rate(x[{{ variables.v }}])', value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('template variable {{ variables.v }} is outside a string literal');
    expect(!r.ok && r.error).toContain(`got ${JSON.stringify(value)}`);
  });

  it.each([
    ['a backquote in a raw string', 'x{a=`{{ variables.v }}`}', 'a`+vector(1)+`', 'contains a backquote'],
    ['a newline in a raw string', 'x{a=`{{ variables.v }}`}', 'a\nb', 'control characters, line breaks'],
    [
      'a control character in a raw string',
      'x{a=`{{ variables.v }}`}',
      'a\x1bb',
      'control characters, line breaks',
    ],
    ['repeated spaces in a raw string', 'x{a=`{{ variables.v }}`}', 'a  b', 'repeated spaces'],
    ['an unpaired surrogate', 'x{a="{{ variables.v }}"}', 'a\ud800', 'unpaired UTF-16 surrogate'],
    [
      'a backslash right before the placeholder',
      'x{a="\\{{ variables.v }}"}',
      '" or vector(1) #',
      'follows an unfinished escape sequence \\ in a string literal',
    ],
    [
      'a hex escape completed by the value',
      'x{a="\\x4{{ variables.v }}"}',
      '1',
      'follows an unfinished escape sequence \\x4',
    ],
  ])('refuses %s', (_name, tpl, value, reason) => {
    const r = render(tpl, value);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('{{ variables.v }}');
    expect(!r.ok && r.error).toContain(reason);
  });

  it.each([
    ['unknown variable', 'x{a="{{ nope }}"}', 'unknown template variable {{ nope }}'],
    [
      'missing variable value',
      'x{a="{{ variables.absent }}"}',
      'template variable {{ variables.absent }} has no value',
    ],
    [
      'inherited property is not a variable',
      'x{a="{{ variables.constructor }}"}',
      '{{ variables.constructor }} has no value',
    ],
    [
      '__proto__ is not a variable',
      'x{a="{{ variables.__proto__ }}"}',
      '{{ variables.__proto__ }} has no value',
    ],
    [
      'Go template field syntax',
      'x{a="{{ .Namespace }}"}',
      'unsupported template expression {{ .Namespace }} on line 1',
    ],
    [
      'a pipeline',
      'x{a="{{ variables.v | upper }}"}',
      'unsupported template expression {{ variables.v | upper }}',
    ],
    [
      'an unterminated expression',
      'x{a="{{ variables.v"}',
      'unterminated template expression "{{" on line 1',
    ],
    [
      'an unterminated string',
      'x\n{a="{{ variables.v }}}',
      'unterminated "-quoted string literal opened on line 2',
    ],
    [
      'an invalid escape in the template',
      'x{a=~"\\d+"}',
      'invalid escape sequence \\d in a string literal on line 1',
    ],
  ])('template error: %s', (_name, tpl, message) => {
    const r = render(tpl, 'x');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain(message);
  });

  it('reports every error, each naming its placeholder', () => {
    const r = renderQuery('x{a="{{ variables.a }}"}[{{ variables.b }}]', {
      ...ctx,
      variables: { b: '0-up' },
    });
    expect(r).toEqual({
      ok: false,
      error:
        'template variable {{ variables.a }} has no value; template variable {{ variables.b }} is outside a string literal, where only a duration (5m, 1h30m), a number (0.99) or a name ([a-zA-Z_][a-zA-Z0-9_:]*, not a keyword) is allowed; got "0-up"',
    });
  });

  it('does not treat an escaped quote as the end of a string', () => {
    expect(render('x{a="pre\\"{{ variables.v }}"}', '"')).toEqual({ ok: true, query: 'x{a="pre\\"\\""}' });
    expect(render('x{a="pre\\\\{{ variables.v }}"}', '"')).toEqual({ ok: true, query: 'x{a="pre\\\\\\""}' });
  });

  // Every hostile value, in every string context: the rendered query has exactly the template's string literals
  // (no comment), each holding exactly the value, and is unchanged by another whitespace collapse.
  const hostile = [
    'a"} or vector(1) #',
    "a'} or vector(1) #",
    '\\',
    '\\"',
    '"\\',
    '.*|x',
    '(?i)ADMIN',
    '^$',
    'a\nb # c',
    '\r\n\t\v\f\x07\b\0\x1b\x7f\u0085',
    '\u00a0\u1680\u2000\u2028\u2029\u202f\u205f\u3000\ufeff\u200b\u202e',
    'café ☕ 日本 😀 👨‍👩‍👧',
    '  two  spaces  ',
    ' ',
    '',
    '$1 ${2} $$',
    '{{ namespace }}',
    '\\x41\\u0041',
  ];
  const contexts: Array<[string, string, 'literal' | 'regex' | 'replacement']> = [
    ['double-quoted', 'x{a="{{ variables.v }}"} # it\'s', 'literal'],
    ['single-quoted', "x{a='{{ variables.v }}'}", 'literal'],
    ['double-quoted regex', 'x{a=~"{{ variables.v }}"}', 'regex'],
    ['single-quoted negative regex', "x{a!~'{{ variables.v }}'}", 'regex'],
    ['label_replace replacement', 'label_replace(x, "d", "{{ variables.v }}", "s", "(.*)")', 'replacement'],
  ];
  it.each(contexts)('round-trips hostile values: %s', (_name, tpl, kind) => {
    for (const value of hostile) {
      const query = renderOk(tpl, value);
      expect(trimQuery(query)).toBe(query);
      const lits = literals(query);
      expect(lits.length).toBe(kind === 'replacement' ? 4 : 1);
      const got = lits[kind === 'replacement' ? 1 : 0]?.value ?? '';
      if (kind === 'literal') expect(got).toBe(value);
      else if (kind === 'replacement') expect(got).toBe(value.replace(/\$/g, '$$$$'));
      else {
        expect(got).toBe(escapeRegex(value));
        expect(new RegExp(`^(?:${got})$`, 'u').test(value)).toBe(true);
        expect(new RegExp(`^(?:${got})$`, 'u').test(`${value}x`)).toBe(false);
      }
    }
  });

  it('round-trips hostile values without a backquote or whitespace trouble in raw strings', () => {
    for (const value of ['a"b', "it's", '\\d+', 'café 😀', 'a b', '#', '{{ target }}']) {
      expect(literals(renderOk('x{a=`{{ variables.v }}`}', value))).toEqual([{ quote: '`', value }]);
    }
  });
});
