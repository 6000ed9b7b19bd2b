// npm registry and npmjs account clients: plain async functions over npm-registry-fetch, no Temporal.
export * from './errors';
export * from './options';
export * from './packument';
export * from './trust';
export * from './stage';
export * from './tokens';
export * from './access';
export * from './downloads';
export * from './unpublish';
export * from './deprecate';
export * from './dist-tags';
