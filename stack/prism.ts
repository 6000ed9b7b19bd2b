// Test stack only: Prism in validating-proxy mode in front of the GitHub stand-in. Every request the
// product sends and every answer the stand-in gives is checked against GitHub's own OpenAPI
// description (@octokit/openapi): an invalid request never reaches the stand-in (422, 400 or 415), an
// invalid answer becomes a 500 (`--errors`), a route GitHub does not have is a 404.
//
// Prism takes 10-14 s and ~300 MB to load the whole 13 MB description. It is given the description cut
// down to the routes the product uses (GITHUB_ROUTES) with every schema they reach, unchanged: the same
// contract for those routes, loaded in a few seconds. A route the product starts using must be listed
// here, or Prism answers 404 and the tests say so.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GITHUB_OPENAPI_PATH } from './openapi-sample';
import { freePort, waitFor } from './ports';
import { stopChild } from './process';

/** The GitHub routes the product calls (clients/github.ts), as GitHub's description writes them. */
export const GITHUB_ROUTES: Readonly<Record<string, readonly string[]>> = {
  '/repos/{owner}/{repo}/installation': ['get'],
  '/app/installations/{installation_id}/access_tokens': ['post'],
  '/repos/{owner}/{repo}/security-advisories': ['get', 'post'],
  '/repos/{owner}/{repo}/security-advisories/{ghsa_id}': ['get', 'patch'],
  '/repos/{owner}/{repo}/actions/workflows/{workflow_id}': ['get'],
  '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/disable': ['put'],
  '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable': ['put'],
  '/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs': ['get'],
  '/repos/{owner}/{repo}/actions/runs/{run_id}/cancel': ['post'],
  '/repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel': ['post'],
  '/repos/{owner}/{repo}/actions/caches': ['get'],
  '/repos/{owner}/{repo}/actions/caches/{cache_id}': ['delete'],
  '/repos/{owner}/{repo}/issues': ['get', 'post'],
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The description with only `routes`, and the components they reach (transitively), as they are. */
export function descriptionFor(routes: Readonly<Record<string, readonly string[]>>): Record<string, Json> {
  const full = JSON.parse(readFileSync(GITHUB_OPENAPI_PATH, 'utf8')) as Record<string, Json> & { paths: Record<string, Record<string, Json>> };
  const paths: Record<string, Record<string, Json>> = {};
  for (const [path, methods] of Object.entries(routes)) {
    const item = full.paths[path];
    if (!item) throw new Error(`GitHub's OpenAPI description has no path ${path}`);
    paths[path] = Object.fromEntries(Object.entries(item).filter(([key]) => methods.includes(key) || key === 'parameters'));
    for (const method of methods) if (!item[method]) throw new Error(`GitHub's OpenAPI description has no ${method.toUpperCase()} ${path}`);
  }
  const components: Record<string, Record<string, Json>> = {};
  const seen = new Set<string>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const ref = node.$ref;
    if (typeof ref === 'string' && !seen.has(ref)) {
      seen.add(ref);
      const [, section, kind, name] = ref.split('/') as [string, string, string, string];
      if (section !== 'components') throw new Error(`unexpected reference ${ref}`);
      const target = (full.components as Record<string, Record<string, Json>>)[kind]![name]!;
      (components[kind] ??= {})[name] = target;
      visit(target);
    }
    for (const value of Object.values(node)) visit(value);
  };
  visit(paths as Json);
  return { openapi: full.openapi!, info: full.info!, servers: full.servers ?? [], paths: paths as Json, components: components as Json };
}

/** Writes the cut-down description once per content (tests of one run share it). */
function descriptionFile(): string {
  const text = JSON.stringify(descriptionFor(GITHUB_ROUTES));
  const file = join(tmpdir(), `quarantine-github-openapi-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`);
  if (!existsSync(file)) writeFileSync(file, text);
  return file;
}

export interface PrismProxy {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts `prism proxy <GitHub's description> <upstream> --errors` on a free loopback port. */
export async function startPrismProxy(upstream: string, options: { startTimeoutMs?: number } = {}): Promise<PrismProxy> {
  const port = await freePort();
  const bin = join(require.resolve('@stoplight/prism-cli/package.json'), '..', 'dist', 'index.js');
  const child = spawn(process.execPath, [bin, 'proxy', descriptionFile(), upstream, '--errors', '-p', String(port), '-h', '127.0.0.1', '-v', 'error'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child);
  try {
    await waitFor('Prism', async () => {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}: ${stderr.trim()}`);
      // Any answer means it serves; a path outside the description is its own 404.
      await fetch(`${url}/_prism/ready`);
      return true;
    }, { timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 200 });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid ?? -1, stop };
}
