// Moved to ./prometheus/client.ts (the metrics provider registry's folder layout); this path stays for existing imports.
export * from './prometheus/client.js';
