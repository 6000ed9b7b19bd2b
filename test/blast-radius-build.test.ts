// The blast radius by build and by publisher, from real (minted) npm provenance served by the test
// registry: `quarantine provenance sync` indexes it, `quarantine affected` answers, and a
// compromised-build alert through the intake contains exactly the release the poisoned run built.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import type { BlastRadius } from '../core/blast-radius';
import { compromiseIncidentId } from '../core/intake';
import { incidentMarker } from '../core/plan';
import type { PlaybookView } from '../core/playbook/view';
import type { ReleaseProvenance } from '../core/release-index';
import { startIntake, type RunningIntake } from '../server/index';
import { npmSbom } from '../stack/npm-cli';
import { FIXTURE_BUILDS } from '../stack/provenance-mint';
import type { LocalRegistry } from '../stack/registry';
import { playbookQuery } from '../workflows/definitions';
import { watchQuery, type WatchView } from '../workflows/watch-incident';
import { intakeConfig, sendStandard } from './helpers/intake';
import { jsonOf, npmCli, npmView, runCli, startInProcessWorker, testClient, testRegistry, pollUntil, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const OUR_PACKAGES = ['@acme/core', '@acme/cli', '@acme/utils', '@acme/solo'];

// Under the whole suite on two cores an incident can take a while to be scheduled: give polls room.
jest.setTimeout(150_000);

describe('blast radius by build and publisher', () => {
  let registry: LocalRegistry;
  let env: Record<string, string>;
  const releasesOf = (radius: BlastRadius) => radius.releases.map((r) => `${r.name}@${r.version}`);
  const affected = async (...args: string[]) => jsonOf<BlastRadius>(await runCli(['affected', ...args, '--json'], env));

  beforeAll(async () => {
    registry = await testRegistry();
    env = {
      QUARANTINE_DATA_DIR: mkdtempSync(join(tmpdir(), 'quarantine-build-')),
      QUARANTINE_REGISTRY: registry.url,
      QUARANTINE_SIGSTORE_TRUSTED_ROOT: registry.sigstore.trustedRoot,
      QUARANTINE_NPM_KEYS: registry.sigstore.npmKeys,
    };
  }, 60_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('provenance sync records every release: verified, tampered (invalid) or without provenance (none)', async () => {
    const result = await runCli(['provenance', 'sync', ...OUR_PACKAGES, '--json'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const { records } = jsonOf<{ records: ReleaseProvenance[] }>(result);
    const status = Object.fromEntries(records.map((r) => [`${r.release.name}@${r.release.version}`, r.status]));
    expect(status).toEqual({
      '@acme/core@1.2.0': 'verified',
      '@acme/core@1.2.1': 'verified',
      '@acme/core@1.2.2': 'verified',
      '@acme/core@1.2.3': 'verified',
      '@acme/cli@2.0.0': 'verified',
      '@acme/cli@2.0.1': 'verified',
      '@acme/cli@2.1.0-beta.0': 'verified',
      '@acme/utils@1.0.0': 'verified',
      '@acme/utils@1.1.0': 'invalid',
      '@acme/utils@1.2.0': 'invalid',
      '@acme/solo@1.0.0': 'none',
    });
  });

  it('answers by run, commit and workflow exactly', async () => {
    const poisoned = FIXTURE_BUILDS.poisoned;
    expect(releasesOf(await affected('--run', poisoned.runId))).toEqual(['@acme/core@1.2.3']);
    expect(releasesOf(await affected('--commit', poisoned.commit.slice(0, 10)))).toEqual(['@acme/core@1.2.3']);
    const release = FIXTURE_BUILDS.release;
    // One run built four releases across two packages.
    expect(releasesOf(await affected('--run', release.runId))).toEqual(['@acme/cli@2.0.0', '@acme/core@1.2.0', '@acme/core@1.2.1', '@acme/core@1.2.2']);
    expect(releasesOf(await affected('--workflow', 'acme-forks/packages/.github/workflows/publish.yml'))).toEqual(['@acme/cli@2.1.0-beta.0']);
    expect(releasesOf(await affected('--run', '1'))).toEqual([]);
  });

  it('finds releases published without provenance, with provenance that does not verify, or from an unexpected repository', async () => {
    const radius = await affected('--publisher');
    expect(radius.releases.map((r) => [`${r.name}@${r.version}`, r.reasons[0]?.kind === 'publisher' ? r.reasons[0].finding : ''])).toEqual([
      ['@acme/cli@2.1.0-beta.0', "built by acme-forks/packages/.github/workflows/publish.yml, while the package's other releases come from acme/packages/.github/workflows/release.yml"],
      ['@acme/solo@1.0.0', 'published without provenance'],
      ['@acme/utils@1.1.0', expect.stringMatching(/^provenance does not verify: .*DSSE payload hash mismatch/)],
      ['@acme/utils@1.2.0', expect.stringMatching(/^provenance does not verify: .*does not match @acme\/utils@1\.2\.0 and its dist\.integrity/)],
    ]);
    const expected = await affected('--publisher', '--expect-repo', 'acme/packages');
    expect(releasesOf(expected)).toEqual(['@acme/cli@2.1.0-beta.0', '@acme/solo@1.0.0', '@acme/utils@1.1.0', '@acme/utils@1.2.0']);
  });

  describe('a compromised-build alert', () => {
    let worker: RunningWorker;
    let intake: RunningIntake;
    let client: Client;
    let closeClient: () => Promise<void>;
    const taskQueue = uniqueTaskQueue('build');

    beforeAll(async () => {
      // The worker's index knows @acme/core only from one SBOM, without any provenance: the build
      // query has to bring the package's provenance in from the registry itself.
      const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-build-worker-'));
      const sbom = join(dataDir, 'core-1.2.0.cdx.json');
      writeFileSync(sbom, await npmSbom(join(__dirname, 'fixtures', 'sbom-projects', 'acme-core-1.2.0')));
      expect((await runCli(['sbom', 'ingest', sbom], { QUARANTINE_DATA_DIR: dataDir })).code).toBe(0);
      expect(releasesOf(jsonOf<BlastRadius>(await runCli(['affected', '--run', FIXTURE_BUILDS.poisoned.runId, '--json'], { QUARANTINE_DATA_DIR: dataDir })))).toEqual([]);
      worker = await startInProcessWorker({
        registry: registry.url,
        token: registry.tokens.admin,
        taskQueue,
        dataDir,
        more: { QUARANTINE_SIGSTORE_TRUSTED_ROOT: registry.sigstore.trustedRoot, QUARANTINE_NPM_KEYS: registry.sigstore.npmKeys },
      });
      ({ client, close: closeClient } = await testClient());
      intake = await startIntake(intakeConfig({ registry: registry.url, taskQueue }), { client });
    }, 60_000);
    afterAll(async () => {
      await intake?.close();
      await worker?.stop();
      await closeClient?.();
    });

    it('contains exactly the release the poisoned run built, and the npm CLI sees it', async () => {
      const alert = {
        id: 'ci-breach-1',
        kind: 'compromised-build',
        severity: 'critical',
        title: 'injected step in the release workflow',
        build: { runIds: [FIXTURE_BUILDS.poisoned.runId] },
      };
      const sent = await sendStandard(intake.url, '/v1/alerts', JSON.stringify(alert));
      expect(sent.status).toBe(202);
      expect(sent.body.incidents).toEqual([expect.objectContaining({ kind: 'compromised-build', new: true })]);
      await intake.drainer.idle();

      const watch = client.workflow.getHandle(sent.body.incidents![0]!.incident);
      const view = await pollUntil(() => watch.query(watchQuery), (v: WatchView) => v.assessedAt !== undefined);
      expect(view.assessmentError).toBeUndefined();
      expect(view.blastRadius?.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.3']);
      // The playbook incident of the compromise, named by the alert, as for an alert naming our release itself.
      const containment = compromiseIncidentId({ source: 'generic', sourceId: 'ci-breach-1' }, registry.url);
      expect(view.containments).toEqual([containment]);

      // The index learnt the provenance through its own heartbeating sync, before the build query.
      const history = await watch.fetchHistory();
      const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
      expect(scheduled.map((a) => a.activityType?.name).slice(0, 2)).toEqual(['syncProvenance', 'findReleasesBuiltBy']);
      expect(Number(scheduled[0]!.heartbeatTimeout?.seconds)).toBe(30);

      const outcome = await pollUntil(() => client.workflow.getHandle(containment).query(playbookQuery), (v: PlaybookView) => v.status !== 'running');
      // Deprecated and latest moved, read back; 2FA for publishing waits for an approver (the default policy).
      expect(outcome.status).toBe('contained');
      expect(outcome.compromise).toMatchObject({ trigger: 'compromised-build', severity: 'critical', releases: [{ name: '@acme/core', versions: ['1.2.3'] }] });
      const seen = await npmView(npmCli(registry.url), '@acme/core', ['1.2.2', '1.2.3']);
      // Our template with this incident's marker; "built by run …" is on the timeline, not on the registry.
      expect(seen.deprecated['1.2.3']).toContain(incidentMarker(containment));
      expect(outcome.reports[0]!.reason).toMatch(/built by run 9100000666 attempt 2/);
      expect(seen.deprecated['1.2.2']).toBeUndefined();
      expect(seen.distTags.latest).toBe('1.2.2');
    });
  });
});
