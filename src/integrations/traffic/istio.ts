// Moved to ./istio/router.ts (the router registry's folder layout); this path stays for existing imports.
export * from './istio/router.js';
