// Test helpers: read canary fixtures, parse them, and turn YAML into the plain documents the workflow receives.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import {
  formatSpecErrors,
  parseCanaryYaml,
  type ParsedCanaryBundle,
} from '../../../src/domain/manifest/index.js';

export function readFixture(name: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/canaries/${name}`, import.meta.url)), 'utf8');
}

/** Parses a fixture that must be valid; a failure shows the formatted errors. */
export function parseFixture(name: string): ParsedCanaryBundle {
  const result = parseCanaryYaml(readFixture(name), name);
  if (!result.ok) throw new Error(`${name} should be valid:\n${formatSpecErrors(result.errors, name)}`);
  return result.value;
}

/** The YAML documents as plain JSON (what the CLI sends as workflow input), without empty documents. */
export function yamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text, { merge: true })
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined);
}

/** 1-based line of the first line containing `marker`. */
export function lineOf(text: string, marker: string): number {
  const index = text.split('\n').findIndex((l) => l.includes(marker));
  if (index < 0) throw new Error(`marker ${marker} not found`);
  return index + 1;
}

/** 1-based column of the first non-blank character (the key) on the first line containing `marker`. */
export function keyColumnOf(text: string, marker: string): number {
  const line = text.split('\n')[lineOf(text, marker) - 1] ?? '';
  return line.length - line.trimStart().length + 1;
}
