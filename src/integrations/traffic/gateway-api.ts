// Moved to ./gateway-api/router.ts (the router registry's folder layout); this path stays for existing imports.
export * from './gateway-api/router.js';
