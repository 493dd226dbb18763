// Regular expressions as Envoy/Istio use them (full-string match), and a generator of a string that a
// given regex accepts, so the simulator can build requests that satisfy a header/cookie/uri match. Pure.

const compiled = new Map<string, RegExp | null>();

/** Full-match RegExp for an RE2-style pattern (a leading `(?i)` becomes the `i` flag); null if invalid. */
export function compileFullMatch(pattern: string): RegExp | null {
  const cached = compiled.get(pattern);
  if (cached !== undefined) return cached;
  let src = pattern;
  let flags = '';
  if (src.startsWith('(?i)')) {
    src = src.slice(4);
    flags = 'i';
  }
  let re: RegExp | null;
  try {
    re = new RegExp(`^(?:${src})$`, flags);
  } catch {
    re = null;
  }
  if (compiled.size > 10_000) compiled.clear();
  compiled.set(pattern, re);
  return re;
}

export function fullMatch(pattern: string, value: string): boolean {
  return compileFullMatch(pattern)?.test(value) ?? false;
}

const classCandidates = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...' -_.=;:/,+*!@#%&~?()[]{}<>|^$\'"`\\',
];

/**
 * Builds the shortest string the regex grammar suggests: first alternative of each group, minimum count
 * of each quantifier, a member of each character class, lookarounds and anchors dropped. The result is
 * verified against the real RegExp by `sampleRegex`.
 */
class MinimalString {
  private i = 0;
  constructor(private readonly src: string) {}

  run(): string {
    let out = this.alternation();
    // A stray `)` at top level: skip it and continue, so the generator always consumes the whole pattern.
    while (this.i < this.src.length) {
      this.i++;
      out += this.alternation();
    }
    return out;
  }

  private alternation(): string {
    const first = this.sequence();
    while (this.src[this.i] === '|') {
      this.i++;
      this.sequence();
    }
    return first;
  }

  private sequence(): string {
    let out = '';
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const atom = this.atom();
      out += atom.repeat(this.quantifierMin());
    }
    return out;
  }

  private quantifierMin(): number {
    const c = this.src[this.i];
    let min = 1;
    if (c === '*' || c === '?') {
      min = 0;
      this.i++;
    } else if (c === '+') {
      this.i++;
    } else if (c === '{') {
      const m = /^\{(\d+)(,\d*)?\}/.exec(this.src.slice(this.i));
      if (!m) return 1;
      min = Number(m[1]);
      this.i += m[0].length;
    } else {
      return 1;
    }
    if (this.src[this.i] === '?' || this.src[this.i] === '+') this.i++; // lazy / possessive
    return min;
  }

  private atom(): string {
    const c = this.src[this.i++] as string;
    switch (c) {
      case '(':
        return this.group();
      case '[':
        return this.charClass();
      case '\\':
        return this.escape();
      case '.':
        return 'a';
      case '^':
      case '$':
        return '';
      default:
        return c;
    }
  }

  private group(): string {
    let lookaround = false;
    if (this.src[this.i] === '?') {
      const next = this.src[this.i + 1];
      if (next === ':') this.i += 2;
      else if (next === '=' || next === '!') {
        lookaround = true;
        this.i += 2;
      } else if (next === '<' && (this.src[this.i + 2] === '=' || this.src[this.i + 2] === '!')) {
        lookaround = true;
        this.i += 3;
      } else if (next === '<' || next === 'P') {
        const close = this.src.indexOf('>', this.i);
        this.i = close >= 0 ? close + 1 : this.src.length;
      }
    }
    const inner = this.alternation();
    if (this.src[this.i] === ')') this.i++;
    return lookaround ? '' : inner;
  }

  private charClass(): string {
    const start = this.i - 1;
    let j = this.i;
    if (this.src[j] === '^') j++;
    if (this.src[j] === ']') j++;
    while (j < this.src.length && this.src[j] !== ']') j += this.src[j] === '\\' ? 2 : 1;
    this.i = Math.min(j + 1, this.src.length);
    let re: RegExp;
    try {
      re = new RegExp(`^${this.src.slice(start, this.i)}$`);
    } catch {
      return 'a';
    }
    return classCandidates.find((ch) => re.test(ch)) ?? 'a';
  }

  private escape(): string {
    const c = this.src[this.i++];
    switch (c) {
      case undefined:
        return '\\';
      case 'd':
        return '0';
      case 'D':
      case 'w':
      case 'S':
        return 'a';
      case 'W':
        return '-';
      case 's':
        return ' ';
      case 'b':
      case 'B':
      case 'A':
      case 'z':
      case 'Z':
        return '';
      case 'n':
        return '\n';
      case 't':
        return '\t';
      case 'r':
        return '\r';
      case 'x': {
        const hex = /^[0-9a-fA-F]{2}/.exec(this.src.slice(this.i));
        if (!hex) return 'x';
        this.i += 2;
        return String.fromCharCode(parseInt(hex[0], 16));
      }
      case 'u': {
        const hex = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!hex) return 'u';
        this.i += 4;
        return String.fromCharCode(parseInt(hex[0], 16));
      }
      default:
        return /[1-9]/.test(c) ? '' : c; // back-references add nothing to a minimal string
    }
  }
}

/** Literal runs of a pattern (letters, digits and a few safe characters), longest first. */
function literalRuns(pattern: string): string[] {
  const runs = pattern.replace(/\\(.)/g, '$1').match(/[A-Za-z0-9=_\-.:/]{2,}/g) ?? [];
  return [...new Set(runs)].sort((a, b) => b.length - a.length);
}

/**
 * A string the full-match regex accepts, or null if none could be found. For Flagger's cookie form
 * `^(.*?;)?(canary=always)(;.*)?$` this yields `canary=always`.
 */
export function sampleRegex(pattern: string): string | null {
  const re = compileFullMatch(pattern);
  if (!re) return null;
  const body = pattern.startsWith('(?i)') ? pattern.slice(4) : pattern;
  const candidates = [
    new MinimalString(body).run(),
    ...literalRuns(body),
    '',
    'a',
    '1',
    'true',
    'always',
    'yes',
    'on',
  ];
  return candidates.find((s) => re.test(s)) ?? null;
}
