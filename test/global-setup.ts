// One Temporal dev server and one seeded registry for the whole run, on free ports. The seeded
// registry's folder is also the template every test file copies into a registry of its own.
import { cpSync, existsSync, mkdtempSync, statSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSeededRegistry } from '../stack/registry';
import { startTemporalDevServer } from '../stack/temporal-server';
import { runNamespaceOn } from './helpers/temporal-namespace';

const ROOT = join(__dirname, '..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : path.endsWith('.ts') ? statSync(join(ROOT, path)).mtimeMs : 0);
  }
  return newest;
}

export default async function globalSetup(): Promise<void> {
  // CLI and worker processes under test run the compiled code: refuse to test a stale build.
  const bundle = join(ROOT, 'dist', 'workflow-bundle.js');
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const sources = Math.max(...['core', 'clients', 'app', 'activities', 'workflows', 'worker', 'cli', 'server', 'stack'].map(newestSource));
  if (built < sources) throw new Error('dist/ is older than the sources: run `npm test` (it builds first) or `npm run build`');

  // QUARANTINE_TEST_TEMPORAL_ADDRESS set: a Temporal server you run (a deployment's, or one started by
  // hand), not one these tests start. The run gets a namespace of its own there, so that the incidents of
  // earlier runs (same ids: same registry ports, same fixed test ids) never meet this run's.
  const given = process.env.QUARANTINE_TEST_TEMPORAL_ADDRESS;
  const [temporal, registry] = await Promise.all([given ? runNamespaceOn(given) : startTemporalDevServer(), startSeededRegistry()]);
  const template = mkdtempSync(join(tmpdir(), 'quarantine-template-'));
  cpSync(registry.dir, template, { recursive: true });

  process.env.QUARANTINE_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.QUARANTINE_TEST_TEMPORAL_NAMESPACE = temporal.namespace;
  // The CLI processes under test read TEMPORAL_NAMESPACE: a developer's own must not point them elsewhere.
  process.env.TEMPORAL_NAMESPACE = temporal.namespace;
  process.env.QUARANTINE_TEST_REGISTRY_URL = registry.url;
  process.env.QUARANTINE_TEST_REGISTRY_TEMPLATE = template;
  // Anything a test might inherit from the developer's shell must not point elsewhere.
  delete process.env.NPM_TOKEN;
  // A CI runner sets GITHUB_TOKEN: no test may act on the real GitHub with it.
  for (const name of ['GITHUB_TOKEN', 'GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_PRIVATE_KEY_FILE', 'GITHUB_API_URL']) delete process.env[name];
  delete process.env.TEMPORAL_API_KEY;
  (globalThis as Record<string, unknown>).__quarantineStack = { temporal, registry };
}
