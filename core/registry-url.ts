// Registry URLs as npm writes them: http(s), a trailing slash, never credentials in the URL.
export const PUBLIC_NPM_REGISTRY = 'https://registry.npmjs.org/';

export class InvalidRegistryError extends Error {
  override readonly name = 'InvalidRegistryError';
}

export function normalizeRegistryUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidRegistryError(`${JSON.stringify(input)} is not a registry URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidRegistryError(`the registry must be an http(s) URL, not ${url.protocol}`);
  }
  if (url.username || url.password) {
    // A URL travels through workflow history and logs; a token in it would too.
    throw new InvalidRegistryError('put registry credentials in NPM_TOKEN on the worker, not in the URL');
  }
  if (url.search || url.hash) throw new InvalidRegistryError('a registry URL has no query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.toString();
}

export function sameRegistry(a: string, b: string): boolean {
  return normalizeRegistryUrl(a) === normalizeRegistryUrl(b);
}

/** npm scopes a token to one registry by its "nerf dart": `//host:port/path/`. */
export function nerfDart(registry: string): string {
  const url = new URL(registry);
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return `//${url.host}${path}`;
}
