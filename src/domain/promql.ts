// PromQL templating for metric checks: Flagger's built-in Istio queries and MetricTemplate rendering with
// `{{ namespace }}`, `{{ target }}`, `{{ interval }}`, `{{ service }}`, `{{ variables.x }}` (also Flagger's
// `{{ .Namespace }}`-style spellings are not used by MetricTemplates; only the lower-case names are).
//
// No template value can inject PromQL: the renderer knows, for each placeholder, whether it sits inside a
// double-quoted string literal. Inside quotes the value is escaped (\\, \", \n); outside quotes only a plain
// token (identifier, number, duration) is accepted, anything else is an error.
// Pure: no I/O.

export const builtinQueries = {
  istio: {
    'request-success-rate': `
      sum(
        rate(
          istio_requests_total{
            reporter="destination",
            destination_workload_namespace="{{ namespace }}",
            destination_workload=~"{{ target }}",
            response_code!~"5.*"
          }[{{ interval }}]
        )
      )
      /
      sum(
        rate(
          istio_requests_total{
            reporter="destination",
            destination_workload_namespace="{{ namespace }}",
            destination_workload=~"{{ target }}"
          }[{{ interval }}]
        )
      )
      * 100`,
    'request-duration': `
      histogram_quantile(
        0.99,
        sum(
          rate(
            istio_request_duration_milliseconds_bucket{
              reporter="destination",
              destination_workload_namespace="{{ namespace }}",
              destination_workload=~"{{ target }}"
            }[{{ interval }}]
          )
        ) by (le)
      )`,
  },
} as const;

export type BuiltinMetric = keyof (typeof builtinQueries)['istio'];

export interface TemplateContext {
  namespace: string;
  target: string;
  interval: string;
  service?: string;
  variables: Record<string, string>;
}

export type RenderResult = { ok: true; query: string } | { ok: false; error: string };

const placeholder = /\{\{\s*([A-Za-z_][\w]*(?:\.[A-Za-z_][\w-]*)?)\s*\}\}/g;
const plainToken = /^[A-Za-z0-9_:.-]+$/;

export function escapePromqlString(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** For each index in `tpl`, whether it lies inside a double-quoted (or backquoted/single-quoted) PromQL string. */
function quoteState(tpl: string): Array<'"' | "'" | '`' | null> {
  const state: Array<'"' | "'" | '`' | null> = new Array(tpl.length).fill(null);
  let q: '"' | "'" | '`' | null = null;
  for (let i = 0; i < tpl.length; i++) {
    const ch = tpl[i];
    state[i] = q;
    if (q) {
      if (ch === '\\' && q !== '`') {
        i++;
        if (i < tpl.length) state[i] = q;
        continue;
      }
      if (ch === q) q = null;
    } else if (ch === '"' || ch === "'" || ch === '`') {
      q = ch;
    }
  }
  return state;
}

export function renderQuery(template: string, ctx: TemplateContext): RenderResult {
  const inQuote = quoteState(template);
  const errors: string[] = [];
  const out = template.replace(placeholder, (match: string, name: string, offset: number) => {
    let value: string | undefined;
    if (name.startsWith('variables.')) value = ctx.variables[name.slice('variables.'.length)];
    else if (name === 'namespace') value = ctx.namespace;
    else if (name === 'target') value = ctx.target;
    else if (name === 'interval') value = ctx.interval;
    else if (name === 'service') value = ctx.service;
    else {
      errors.push(`unknown template variable {{ ${name} }}`);
      return match;
    }
    if (value === undefined) {
      errors.push(`template variable {{ ${name} }} has no value`);
      return match;
    }
    const q = inQuote[offset];
    if (q === '"' || q === "'")
      return q === '"' ? escapePromqlString(value) : value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    if (q === '`') {
      if (value.includes('`')) errors.push(`value of {{ ${name} }} contains a backquote`);
      return value;
    }
    if (!plainToken.test(value)) {
      errors.push(
        `value of {{ ${name} }} (${JSON.stringify(value)}) is used outside a string literal and is not a plain token`,
      );
      return match;
    }
    return value;
  });
  if (errors.length > 0) return { ok: false, error: errors.join('; ') };
  return { ok: true, query: out.replace(/\s+/g, ' ').trim() };
}
