// POST /v1/sboms on the intake server, as CI uses it: a real npm-generated SBOM, signed like the alert
// webhooks; then `quarantine affected` on the same data directory sees it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { BlastRadius } from '../core/blast-radius';
import { startIntake, type RunningIntake } from '../server/index';
import { npmSbom } from '../stack/npm-cli';
import { intakeConfig, sendStandard } from './helpers/intake';
import { jsonOf, runCli } from './helpers/stack';

const PROJECT = join(__dirname, 'fixtures', 'sbom-projects', 'acme-core-1.2.2');

let intake: RunningIntake;
let connection: Connection;
let dataDir: string;
let sbom: string;

beforeAll(async () => {
  sbom = await npmSbom(PROJECT);
  dataDir = mkdtempSync(join(tmpdir(), 'quarantine-sbom-endpoint-'));
  // SBOMs never reach Temporal: a connection that is never used needs no server.
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  intake = await startIntake(intakeConfig({ registry: 'http://127.0.0.1:9/', taskQueue: 'unused', dataDir, sbomBodyLimit: 512 * 1024 }), { client: new Client({ connection }) });
}, 60_000);

afterAll(async () => {
  await intake.close();
  await connection.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const affectedReleases = async (spec: string): Promise<string[]> =>
  jsonOf<BlastRadius>(await runCli(['affected', spec, '--json'], { QUARANTINE_DATA_DIR: dataDir })).releases.map((r) => `${r.name}@${r.version}`);

test('a signed SBOM is indexed (201), the same again is unchanged (200), and the CLI answers from it', async () => {
  const first = await sendStandard(intake.url, '/v1/sboms', sbom, { contentType: 'application/vnd.cyclonedx+json' });
  expect(first.status).toBe(201);
  expect(first.body).toMatchObject({ release: { name: '@acme/core', version: '1.2.2' }, outcome: 'new' });
  const again = await sendStandard(intake.url, '/v1/sboms', sbom);
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ outcome: 'unchanged' });
  expect(await affectedReleases('is@3.3.1')).toEqual(['@acme/core@1.2.2']);
});

test('forged, invalid, mislabelled and oversized SBOMs are refused and index nothing', async () => {
  const other = JSON.stringify({ ...(JSON.parse(sbom) as object), metadata: { component: { 'bom-ref': 'x', type: 'library', name: 'evil', version: '6.6.6', purl: 'pkg:npm/evil@6.6.6' } } });
  const forged = await sendStandard(intake.url, '/v1/sboms', other, { secret: `whsec_${Buffer.from('not-the-configured-secret-at-all').toString('base64')}` });
  expect(forged.status).toBe(401);

  const doc = JSON.parse(other) as { components: { type: string }[] };
  doc.components[0]!.type = 'malware';
  const invalid = await sendStandard(intake.url, '/v1/sboms', JSON.stringify(doc));
  expect(invalid.status).toBe(422);
  expect(invalid.body.error).toBe('invalid CycloneDX 1.5: /components/0/type must be equal to one of the allowed values');

  const mislabelled = await sendStandard(intake.url, '/v1/sboms?release=%40acme%2Fcore%401.2.3', sbom);
  expect(mislabelled.status).toBe(422);
  expect(mislabelled.body.error).toBe('the SBOM describes @acme/core@1.2.2, not @acme/core@1.2.3');

  const tooBig = await sendStandard(intake.url, '/v1/sboms', Buffer.alloc(600 * 1024, ' '));
  expect(tooBig.status).toBe(413);
  expect(tooBig.body.error).toBe(`body larger than ${512 * 1024} bytes`);

  expect(await affectedReleases('evil@6.6.6')).toEqual([]);
  expect(readFileSync(join(dataDir, 'releases.sqlite')).includes(Buffer.from('evil'))).toBe(false);
});
