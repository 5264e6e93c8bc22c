export * from './errors.js';
export * from './config.js';
export * from './router/route.js';
export * from './router/resolve.js';
export * from './providers/provider.js';
export * from './providers/provider-table.js';
export * from './stream/parts.js';
