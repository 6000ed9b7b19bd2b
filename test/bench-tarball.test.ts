// The playbook bench publishes its compromise over HTTP with tarballs it builds itself (bench/tarball.ts):
// the npm CLI must see them as it sees its own publishes, or the bench measures a registry no user has.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { publishVersion } from '../bench/tarball';
import type { LocalRegistry } from '../stack/registry';
import { npmCli, testRegistry } from './helpers/stack';

const run = promisify(execFile);

describe('bench tarballs published on the wire npm publish uses', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await testRegistry();
  });
  afterAll(async () => {
    await registry?.stop();
  });

  // A refused publish throws (publishVersion), failing the test with the registry's answer.
  const publish = (name: string, version: string) => publishVersion(registry.url, registry.tokens.admin, name, version);

  it('lands versions in order with latest on the last, and npm installs the tarball with its integrity checked', async () => {
    await publish('@bench/tarball-check', '1.0.0');
    await publish('@bench/tarball-check', '1.0.1');
    const npm = npmCli(registry.url, registry.tokens.admin);
    const view = JSON.parse(await npm(['view', '@bench/tarball-check', '--json'])) as { versions: string[]; 'dist-tags': Record<string, string>; dist: { integrity: string } };
    expect(view.versions).toEqual(['1.0.0', '1.0.1']);
    expect(view['dist-tags']).toEqual({ latest: '1.0.1' });
    expect(view.dist.integrity).toMatch(/^sha512-/);

    // npm checks the tarball against the packument's integrity and unpacks it: a bad archive fails here.
    const project = mkdtempSync(join(tmpdir(), 'quarantine-bench-tarball-'));
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
    await npm(['install', '@bench/tarball-check@1.0.0', '--no-package-lock'], { cwd: project });
    const installed = join(project, 'node_modules', '@bench', 'tarball-check');
    expect(JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))).toMatchObject({ name: '@bench/tarball-check', version: '1.0.0' });
    const { stdout } = await run(process.execPath, ['-p', `require(${JSON.stringify(installed)})`]);
    expect(stdout.trim()).toBe('@bench/tarball-check@1.0.0');
  });
});
