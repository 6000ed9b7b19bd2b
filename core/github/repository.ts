// Which GitHub repository a package comes from, from the packument's `repository` field in the forms
// npm accepts (`github:owner/repo`, `owner/repo`, git+https, git+ssh, scp-like `git@host:owner/repo`,
// a web URL with a path below the repository) or a provenance statement's repository URL. Pure.
import type { RepositoryRef } from './action';

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

function ref(owner: string | undefined, repo: string | undefined): RepositoryRef | undefined {
  if (owner === undefined || repo === undefined) return undefined;
  const name = repo.replace(/\.git$/, '');
  if (!OWNER.test(owner) || !REPO.test(name) || name === '.' || name === '..') return undefined;
  return { owner, repo: name };
}

/**
 * The repository `text` names on `host` (github.com, or a GitHub Enterprise Server's host), or
 * undefined when it names none there (another forge, a malformed value).
 */
export function parseRepository(text: string, host = 'github.com'): RepositoryRef | undefined {
  const value = text.trim();
  const shorthand = /^(?:github:)?([^/:@\s]+)\/([^/:@\s#]+)(?:#.*)?$/.exec(value);
  if (shorthand && !value.includes('://')) return host === 'github.com' || value.startsWith('github:') ? ref(shorthand[1], shorthand[2]) : undefined;
  const scp = /^(?:[\w.-]+@)?([^:/\s]+):([^/\s]+)\/([^/\s#]+?)(?:\.git)?(?:#.*)?$/.exec(value);
  if (scp && !value.includes('://')) return scp[1]!.toLowerCase() === host ? ref(scp[2], scp[3]) : undefined;
  let url: URL;
  try {
    url = new URL(value.replace(/^git\+/, ''));
  } catch {
    return undefined;
  }
  if (!['https:', 'http:', 'ssh:', 'git:'].includes(url.protocol) || url.hostname.toLowerCase() !== host) return undefined;
  const [owner, repo] = url.pathname.split('/').filter(Boolean);
  return ref(owner, repo);
}

/** A workflow path from provenance (`.github/workflows/release.yml`) as GitHub's workflow routes take it. */
export function workflowFile(path: string): string | undefined {
  const file = /^\.github\/workflows\/([A-Za-z0-9._-]+\.ya?ml)$/.exec(path.replace(/^\/+/, ''))?.[1] ?? (/^[A-Za-z0-9._-]+\.ya?ml$/.test(path) ? path : undefined);
  return file;
}
