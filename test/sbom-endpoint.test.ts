// POST /v1/sboms on the intake server, as CI uses it: a real npm-generated SBOM, signed like the alert
// webhooks; then `quarantine affected` on the same data directory sees it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { syntheticSbom } from '../bench/sbom';
import { signStandardWebhook } from '../core/alerts/signatures';
import type { BlastRadius } from '../core/blast-radius';
import { startSbomIngester } from '../server/sbom-ingest';
import { startIntake, type RunningIntake } from '../server/index';
import { npmSbom } from '../stack/npm-cli';
import { intakeConfig, sendStandard, STANDARD_SECRETS } from './helpers/intake';
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
  intake = await startIntake(intakeConfig({ registry: 'http://127.0.0.1:9/', taskQueue: 'unused', dataDir, sbomBodyLimit: 4 * 1024 * 1024 }), { client: new Client({ connection }) });
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

  const tooBig = await sendStandard(intake.url, '/v1/sboms', Buffer.alloc(4 * 1024 * 1024 + 1, ' '));
  expect(tooBig.status).toBe(413);
  expect(tooBig.body.error).toBe(`body larger than ${4 * 1024 * 1024} bytes`);

  expect(await affectedReleases('evil@6.6.6')).toEqual([]);
  expect(readFileSync(join(dataDir, 'releases.sqlite')).includes(Buffer.from('evil'))).toBe(false);
});

test('an SBOM past a cap is refused with 422 naming the cap, and indexes nothing', async () => {
  const chain = await sendStandard(intake.url, '/v1/sboms', syntheticSbom(8_000, 'chain'));
  expect(chain.status).toBe(422);
  expect(chain.body).toEqual({ error: 'pkg-100@1.0.0 is more than 100 dependencies away from the release (shortest path): at most 100 levels are accepted', field: 'body' });
  expect(await affectedReleases('pkg-0@1.0.0')).toEqual([]);
});

/** Sends headers and the first bytes of a large body, never the rest: resolves with the status if the server answers anyway. */
function answerBeforeBody(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const url = new URL('/v1/sboms', intake.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(3 * 1024 * 1024), ...headers } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.write(Buffer.alloc(64 * 1024, ' '));
    setTimeout(() => {
      req.destroy();
      reject(new Error('no answer before the body was complete'));
    }, 10_000).unref();
  });
}

test('without the signature headers, or with a stale timestamp, the request is refused before its body is read', async () => {
  const now = Math.floor(Date.now() / 1000);
  expect(await answerBeforeBody({})).toEqual({ status: 401, body: JSON.stringify({ error: 'missing webhook-id header' }) });
  expect(await answerBeforeBody({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(now) })).toEqual({ status: 401, body: JSON.stringify({ error: 'missing webhook-signature header' }) });
  const stale = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now - 3600), 'webhook-signature': 'v1,AAAA' };
  expect(await answerBeforeBody(stale)).toEqual({ status: 401, body: JSON.stringify({ error: 'webhook-timestamp is too old' }) });
  // Well-formed headers: the body is read (and the signature then checked over it).
  const fresh = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(now), 'webhook-signature': 'v1,AAAA' };
  await expect(answerBeforeBody(fresh)).rejects.toThrow('no answer before the body was complete');
});

test('alerts are acknowledged while a large SBOM is being ingested', async () => {
  // 15,000 components, 100 levels deep: seconds of validation and indexing.
  const big = syntheticSbom(15_000, 'deepest-tree');
  let sbomAnswered = false;
  const sbom = sendStandard(intake.url, '/v1/sboms', big).then((answer) => {
    sbomAnswered = true;
    return answer;
  });
  const acknowledged: number[] = [];
  let n = 0;
  while (!sbomAnswered) {
    const started = performance.now();
    const alert = { id: `SBOM-ACK-${n++}`, kind: 'vulnerability', severity: 'low', title: 'while an SBOM is ingested', package: { name: 'left-pad', versions: ['1.3.0'] } };
    const sent = await sendStandard(intake.url, '/v1/alerts', JSON.stringify(alert));
    expect(sent.status).toBe(202);
    if (!sbomAnswered) acknowledged.push(performance.now() - started);
  }
  const answer = await sbom;
  expect(answer.status).toBe(201);
  expect(answer.body).toMatchObject({ release: { name: 'app', version: '1.0.0' }, components: 15_000 });
  // On the event loop, no alert could be answered until the SBOM was: here they go on being answered.
  expect(acknowledged.length).toBeGreaterThanOrEqual(5);
  expect(await affectedReleases('pkg-14999@1.0.0')).toEqual(['app@1.0.0']);
}, 120_000);

test('the ingester refuses more SBOMs than may wait (503), checks signatures in its thread, and answers each', async () => {
  const ingester = startSbomIngester({ indexFile: join(dataDir, 'waiting.sqlite'), secrets: STANDARD_SECRETS, maxWaiting: 1 });
  try {
    const signed = (text: string, id: string) => {
      const body = Buffer.from(text);
      const timestamp = Math.floor(Date.now() / 1000);
      return { body, headers: { id, timestamp: String(timestamp), signature: signStandardWebhook(body, id, timestamp, STANDARD_SECRETS[0]!) } };
    };
    const answers = await Promise.all([
      ingester.ingest(signed(syntheticSbom(2_000, 'deepest-tree'), 'a')),
      ingester.ingest(signed(syntheticSbom(3, 'chain'), 'b')),
      ingester.ingest(signed(syntheticSbom(3, 'chain'), 'c')),
      ingester.ingest({ ...signed(syntheticSbom(3, 'chain'), 'd'), headers: { id: 'd', timestamp: String(Math.floor(Date.now() / 1000)), signature: 'v1,AAAA' } }),
    ]);
    expect(answers.map((a) => (a.ok ? a.result.outcome : a.status))).toEqual(['new', 'replaced', 503, 503]);
    expect(await ingester.ingest({ ...signed(syntheticSbom(3, 'chain'), 'e'), release: 'app@2.0.0' })).toEqual({
      ok: false,
      status: 422,
      error: 'the SBOM describes app@1.0.0, not app@2.0.0',
      field: 'body',
    });
    const forged = signed(syntheticSbom(3, 'chain'), 'f');
    expect(await ingester.ingest({ ...forged, headers: { ...forged.headers, signature: 'v1,AAAA' } })).toMatchObject({ ok: false, status: 401 });
  } finally {
    await ingester.close();
  }
});
