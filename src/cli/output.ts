// Terminal output for every command, in one place: colour on/off (NO_COLOR, --no-color, non-TTY), the `-o` format
// option, plain tables, and in-place redrawing for `status --watch`.
import { Option } from 'commander';
import { quote, safeJson, sanitize, sanitizeDeep } from '../domain/sanitize.js';

// Everything the CLI prints that echoes input goes through the one sanitising helper (src/domain/sanitize.ts):
// control characters escaped, long values cut.
export { quote, sanitizeDeep };

/** A message (possibly several lines) for the terminal: each line escaped and bounded. */
export function safeText(text: string): string {
  return sanitize(text, { multiline: true, max: 1000 });
}

/** One value from input (a name, a reason) inside a line of text output. */
export function safe(value: string, max = 300): string {
  return sanitize(value, { max });
}

/**
 * `-o json` output: JSON whose every control character is escaped (it parses back to the same data). `indent` 0:
 * one line (JSON lines).
 */
export function printJson(value: unknown, indent = 2): void {
  console.log(safeJson(value, indent));
}

export type OutputFormat = 'text' | 'json';

/** `-o, --output <format>`: `text` (alias `table`) or `json`. */
export function outputOption(): Option {
  return new Option('-o, --output <format>', 'output format: text (alias table) or json')
    .choices(['text', 'table', 'json'])
    .default('text');
}

export function isJson(format: string | undefined): boolean {
  return format === 'json';
}

interface Stream {
  isTTY?: boolean;
}

/**
 * Whether ANSI colours may be written to `stream`: never with `--no-color`, `NO_COLOR` (any value, also empty)
 * or `TERM=dumb`; otherwise only on a terminal, unless `FORCE_COLOR` (non-empty, not `0`) asks for them anyway.
 */
export function colourWanted(
  stream: Stream,
  env: Record<string, string | undefined> = process.env,
  flag: boolean = true,
): boolean {
  if (!flag) return false;
  if (env.NO_COLOR !== undefined) return false;
  if (env.TERM === 'dumb') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  return stream.isTTY === true;
}

let colourFlag = true;

/** Set once per run from the global `--no-color` flag (commander's `--no-color` gives `color: false`). */
export function configureOutput(opts: { color?: boolean }): void {
  colourFlag = opts.color !== false;
}

export type Style = 'bold' | 'dim' | 'red' | 'green' | 'yellow' | 'blue' | 'cyan' | 'magenta';

const codes: Record<Style, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  blue: [34, 39],
  magenta: [35, 39],
  cyan: [36, 39],
};

export type Painter = Record<Style, (s: string) => string> & { enabled: boolean };

export function painter(enabled: boolean): Painter {
  const make = (style: Style) => (s: string) =>
    enabled && s !== '' ? `\x1b[${codes[style][0]}m${s}\x1b[${codes[style][1]}m` : s;
  return {
    enabled,
    bold: make('bold'),
    dim: make('dim'),
    red: make('red'),
    green: make('green'),
    yellow: make('yellow'),
    blue: make('blue'),
    magenta: make('magenta'),
    cyan: make('cyan'),
  };
}

/** Colours for standard output (decided now: `--no-color` is known once the command line is parsed). */
export function out(): Painter {
  return painter(colourWanted(process.stdout, process.env, colourFlag));
}

/** Colours for standard error. */
export function err(): Painter {
  return painter(colourWanted(process.stderr, process.env, colourFlag));
}

// eslint-disable-next-line no-control-regex -- ANSI escape sequences are what this strips
const ansiPattern = /\x1b\[[0-9;?]*[A-Za-z]/g;

export function stripAnsi(s: string): string {
  return s.replace(ansiPattern, '');
}

/** Display width ignoring ANSI sequences (code points; the CLI prints no wide characters). */
export function visibleLength(s: string): number {
  return [...stripAnsi(s)].length;
}

export function pad(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(s)));
  return align === 'left' ? s + fill : fill + s;
}

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** A plain table: a header row and columns padded to their widest cell; the last column is not padded. */
export function table(columns: Column[], rows: string[][], p: Painter = out()): string {
  const widths = columns.map((c, i) =>
    Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) =>
        i === columns.length - 1 ? cell : pad(cell, widths[i] ?? 0, columns[i]?.align ?? 'left'),
      )
      .join('  ')
      .trimEnd();
  return [p.bold(line(columns.map((c) => c.header))), ...rows.map(line)].join('\n');
}

export interface Writable {
  write(s: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

/**
 * A block of lines redrawn in place on a terminal (cursor up, clear to end of screen). Rendering the same text
 * again writes nothing.
 */
export class LiveRegion {
  private lines = 0;
  private last: string | null = null;
  private cursorHidden = false;

  constructor(private readonly stream: Writable = process.stdout) {}

  render(text: string): void {
    if (text === this.last) return;
    if (!this.cursorHidden) {
      this.stream.write('\x1b[?25l');
      this.cursorHidden = true;
    }
    const up = this.lines > 0 ? `\x1b[${this.lines}A\r` : '';
    this.stream.write(`${up}\x1b[J${text}\n`);
    this.last = text;
    const width = this.stream.columns && this.stream.columns > 0 ? this.stream.columns : 80;
    this.lines = text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / width)), 0);
  }

  /** Leaves the last frame on screen and shows the cursor again. */
  done(): void {
    if (this.cursorHidden) this.stream.write('\x1b[?25h');
    this.cursorHidden = false;
  }
}

/** `2026-11-22T10:07:12.216Z` → `10:07:12` (UTC, as everything else the CLI prints). */
export function clock(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}
