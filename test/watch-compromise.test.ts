// One incident per compromise, from the watch side: alerts about dependencies of ours go through the
// intake into dependency incidents, whose blast radius (a release index built from real SBOMs) is
// contained in ONE playbook incident for the whole compromise, the one a direct alert naming our own
// releases opens too. The worker and the intake run under a policy file of their own (malware below
// `high` is not contained); the real npm CLI judges what the registry serves afterwards.
import { randomInt } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { compromiseIncidentId } from '../core/intake';
import { incidentMarker } from '../core/plan';
import { DEFAULT_POLICY } from '../core/playbook/policy';
import { parsePolicy } from '../core/playbook/policy-file';
import { printable } from '../core/spec';
import type { PlaybookView } from '../core/playbook/view';
import { startIntake, type RunningIntake } from '../server/index';
import type { LocalRegistry } from '../stack/registry';
import { playbookQuery } from '../workflows/definitions';
import { watchQuery, type WatchView } from '../workflows/watch-incident';
import { workerConfigFromEnv } from '../worker/config';
import { incidentsOn, intakeConfig, sendStandard } from './helpers/intake';
import { ingestFixtureSboms, npmCli, npmView, pollUntil, runCli, startInProcessWorker, testClient, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

jest.setTimeout(180_000);

const CORE = ['1.2.0', '1.2.1', '1.2.2', '1.2.3'];
const CLI = ['2.0.0', '2.0.1', '2.1.0-beta.0'];
// Written so that the incidents' views can show it travelled with them: npm's own default is 80.
const POLICY = { version: 1, triggers: { malware: { minSeverity: 'high' } }, otp: { actionsPerWindow: 37 } };

/** Advisory ids of the forms an incident id carries as they are, new in every run. */
const malId = () => `MAL-2026-${randomInt(1_000_000, 1_000_000_000)}`;
const ghsaId = () => `GHSA-${Array.from({ length: 3 }, () => Array.from({ length: 4 }, () => '23456789cfghjmpqrvwx'[randomInt(20)]).join('')).join('-')}`;

describe('a dependency compromise is contained in one playbook incident', () => {
  let registry: LocalRegistry;
  let worker: RunningWorker;
  let intake: RunningIntake;
  let client: Client;
  let closeClient: () => Promise<void>;
  const taskQueue = uniqueTaskQueue('watch-compromise');
  const dataDir = mkdtempSync(join(tmpdir(), 'quarantine-watch-compromise-'));
  const policyFile = join(dataDir, 'policy.json');

  const send = async (alert: Record<string, unknown>, path = '/v1/alerts') => {
    const sent = await sendStandard(intake.url, path, JSON.stringify(alert));
    expect(sent.status).toBe(202);
    await intake.drainer.idle();
    return sent.body.incidents!;
  };
  const watchView = (incident: string, done: (v: WatchView) => boolean) => pollUntil(() => client.workflow.getHandle(incident).query(watchQuery), done);
  const playbook = (incident: string, done: (v: PlaybookView) => boolean) => pollUntil(() => client.workflow.getHandle(incident).query(playbookQuery), done);
  const settled = (v: PlaybookView) => v.status !== 'running';
  // In the order the reports arrived: the two dependency incidents send theirs at the same time.
  const releasesOf = (view: PlaybookView) => [...view.compromise.releases].sort((a, b) => a.name.localeCompare(b.name));
  const compromises = async () => (await incidentsOn(client, taskQueue)).filter((id) => id.startsWith('compromise-'));
  const exists = (incident: string) =>
    client.workflow.getHandle(incident).describe().then(
      () => true,
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return false;
        throw err;
      },
    );
  const deprecated = async (name: string, versions: string[]) => (await npmView(npmCli(registry.url), name, versions)).deprecated;

  beforeAll(async () => {
    writeFileSync(policyFile, JSON.stringify(POLICY));
    await ingestFixtureSboms(dataDir);
    registry = await testRegistry();
    worker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue, dataDir, more: { QUARANTINE_POLICY: policyFile } });
    ({ client, close: closeClient } = await testClient());
    intake = await startIntake(intakeConfig({ registry: registry.url, taskQueue, policy: parsePolicy(POLICY) }), { client });
  }, 150_000);

  afterAll(async () => {
    await intake?.close();
    await worker?.stop();
    await closeClient?.();
    await registry?.stop();
  });

  it('a malware alert reaching two packages of ours through two dependencies opens ONE incident holding both; a direct alert of the same compromise joins it', async () => {
    const id = malId();
    const alert = {
      id,
      kind: 'malware',
      severity: 'critical',
      title: 'wallet drainer and commitlint stealer, one campaign',
      // @acme/core@1.2.2 ships @solana/web3.js@1.95.8; @acme/cli@2.0.1 ships @crowdstrike/commitlint@8.1.1.
      packages: [
        { name: '@solana/web3.js', versions: ['1.95.8'] },
        { name: '@crowdstrike/commitlint', versions: ['8.1.1'] },
      ],
    };
    const watched = await send(alert);
    expect(watched.map((i) => i.kind)).toEqual(['dependency', 'dependency']);
    const compromise = compromiseIncidentId({ source: 'generic', sourceId: id }, registry.url);
    expect(compromise).toMatch(new RegExp(`^compromise-${id}-[0-9a-f]{8}$`));

    // Each dependency incident contains its part of the blast radius in the compromise's incident.
    for (const { incident } of watched) {
      const view = await watchView(incident, (v) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
      expect(view.assessmentError).toBeUndefined();
      expect(view.containments).toEqual([compromise]);
    }
    const both = await playbook(compromise, (v) => (v.reportCount ?? 0) >= 2 && v.compromise.releases.length === 2 && settled(v));
    expect(both.status).toBe('contained');
    expect(both.compromise).toMatchObject({ trigger: 'malware', severity: 'critical' });
    expect(releasesOf(both)).toEqual([
      { name: '@acme/cli', versions: ['2.0.1'] },
      { name: '@acme/core', versions: ['1.2.2'] },
    ]);
    // Started under the worker's policy file, not the built-in default.
    expect(both.otp.perWindow).toBe(37);
    expect(both.reports.map((r) => r.reason).sort()).toEqual([
      expect.stringMatching(/^ships @crowdstrike\/commitlint@8\.1\.1: malware \(critical\)/),
      expect.stringMatching(/^ships @solana\/web3\.js@1\.95\.8: malware \(critical\)/),
    ]);

    const marker = incidentMarker(compromise);
    const core = await npmView(npmCli(registry.url), '@acme/core', CORE);
    const cli = await npmView(npmCli(registry.url), '@acme/cli', CLI);
    expect(core.deprecated['1.2.2']).toContain(marker);
    expect(cli.deprecated['2.0.1']).toContain(marker);
    expect([core.deprecated['1.2.0'], core.deprecated['1.2.1'], core.deprecated['1.2.3'], cli.deprecated['2.0.0'], cli.deprecated['2.1.0-beta.0']]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(cli.distTags.latest).toBe('2.0.0');
    expect(await compromises()).toEqual([compromise]);

    // The same compromise reported again, now naming a release of ours itself: the same incident.
    const direct = await send({ id, kind: 'malware', severity: 'critical', title: 'the stealer reached our own build', package: { name: '@acme/core', versions: ['1.2.3'] } });
    expect(direct).toEqual([expect.objectContaining({ incident: compromise, kind: 'containment' })]);
    const seen = await pollUntil(() => deprecated('@acme/core', CORE), (d) => d['1.2.3'] !== undefined);
    expect(seen['1.2.3']).toContain(marker);
    const joined = await playbook(compromise, (v) => (v.reportCount ?? 0) >= 3 && settled(v));
    expect(joined.reportCount).toBe(3);
    expect(releasesOf(joined)).toEqual([
      { name: '@acme/cli', versions: ['2.0.1'] },
      { name: '@acme/core', versions: ['1.2.2', '1.2.3'] },
    ]);
    expect(await compromises()).toEqual([compromise]);
    expect((await npmView(npmCli(registry.url), '@acme/core', [])).distTags.latest).toBe('1.2.1');
  });

  it('a dependency alert whose advisory alias already has an open incident joins that one', async () => {
    const ghsa = ghsaId();
    const direct = await send({ id: ghsa, kind: 'malware', severity: 'critical', title: 'stealer in @acme/utils', package: { name: '@acme/utils', versions: ['1.0.0'] } });
    const incident = direct[0]!.incident;
    expect(incident).toBe(compromiseIncidentId({ source: 'generic', sourceId: ghsa }, registry.url));
    await playbook(incident, settled);

    // Another feed's record of the same compromise, under its own id, naming a dependency (core@1.2.0 ships @solana/web3.js@1.95.5).
    const mal = malId();
    const [watched] = await send({ id: mal, kind: 'malware', severity: 'critical', title: 'same campaign, upstream', aliases: [ghsa], package: { name: '@solana/web3.js', versions: ['1.95.5'] } });
    expect(watched!.kind).toBe('dependency');
    const view = await watchView(watched!.incident, (v) => (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
    expect(view.containments).toEqual([incident]);
    const seen = await pollUntil(() => deprecated('@acme/core', ['1.2.0']), (d) => d['1.2.0'] !== undefined);
    expect(seen['1.2.0']).toContain(incidentMarker(incident));
    const joined = await playbook(incident, (v) => (v.reportCount ?? 0) >= 2 && settled(v));
    expect(releasesOf(joined)).toEqual([
      { name: '@acme/core', versions: ['1.2.0'] },
      { name: '@acme/utils', versions: ['1.0.0'] },
    ]);
    expect(await exists(compromiseIncidentId({ source: 'generic', sourceId: mal }, registry.url))).toBe(false);
  });

  describe('opens nothing', () => {
    // Each reaches @acme/core@1.2.1 (it ships @solana/web3.js@1.95.6), which no other test contains.
    const untouched = async () => expect(await deprecated('@acme/core', ['1.2.1'])).toEqual({ '1.2.1': undefined });

    it('for a malware alert below the policy\'s minimum severity, and says why on the dependency incident', async () => {
      const id = malId();
      const [watched] = await send({ id, kind: 'malware', severity: 'moderate', title: 'maybe a stealer', package: { name: '@solana/web3.js', versions: ['1.95.6'] } });
      const view = await watchView(watched!.incident, (v) => (v.held?.length ?? 0) > 0 || (v.containments?.length ?? 0) > 0 || v.assessmentError !== undefined);
      expect(view.containments ?? []).toEqual([]);
      expect(view.held).toEqual([{ name: '@acme/core', versionCount: 1, versions: ['1.2.1'], reason: "a moderate-severity malware report is below the policy's minimum (high): recorded, not contained" }]);
      expect(await exists(compromiseIncidentId({ source: 'generic', sourceId: id }, registry.url))).toBe(false);
      await untouched();
      const shown = await runCli(['timeline', watched!.incident]);
      expect(shown.stdout).toContain("  HELD for a person, not contained: a moderate-severity malware report is below the policy's minimum (high): recorded, not contained (1 version(s))");
    });

    it('for a withdrawn malware record', async () => {
      const id = malId();
      const record = {
        id,
        modified: new Date().toISOString(),
        withdrawn: new Date().toISOString(),
        summary: 'Malicious code in @solana/web3.js (npm), withdrawn',
        affected: [{ package: { ecosystem: 'npm', name: '@solana/web3.js' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '1.95.6' }, { fixed: '1.95.7' }] }] }],
      };
      const [watched] = await send(record, '/v1/alerts/osv');
      expect(watched!.kind).toBe('withdrawn');
      const view = await watchView(watched!.incident, (v) => v.assessedAt !== undefined);
      expect(view.blastRadius?.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.1']);
      expect(view.containments ?? []).toEqual([]);
      expect(await exists(compromiseIncidentId({ source: 'osv', sourceId: id }, registry.url))).toBe(false);
      await untouched();
    });

    it('for a vulnerability, however severe', async () => {
      const id = `vuln-${malId()}`;
      const [watched] = await send({ id, kind: 'vulnerability', severity: 'critical', title: 'prototype pollution', package: { name: '@solana/web3.js', ranges: ['>=1.95.6 <1.95.7'] } });
      const view = await watchView(watched!.incident, (v) => v.assessedAt !== undefined);
      expect(view.blastRadius?.releases.map((r) => `${r.name}@${r.version}`)).toEqual(['@acme/core@1.2.1']);
      expect(view.containments ?? []).toEqual([]);
      expect(await exists(compromiseIncidentId({ source: 'generic', sourceId: id }, registry.url))).toBe(false);
      await untouched();
    });

    it('for an over-broad blast radius', async () => {
      const id = malId();
      const [watched] = await send({ id, kind: 'malware', severity: 'critical', title: 'is, every version', package: { name: 'is', ranges: ['*'] } });
      const view = await watchView(watched!.incident, (v) => v.assessedAt !== undefined);
      expect(view.blastRadius?.overBroad).toBeDefined();
      expect(view.blastRadius?.releases.map((r) => r.version)).toEqual(CORE);
      expect(view.containments ?? []).toEqual([]);
      expect(await exists(compromiseIncidentId({ source: 'generic', sourceId: id }, registry.url))).toBe(false);
      await untouched();
    });
  });
});

describe('the worker reads the containment policy its watch incidents contain under', () => {
  const dir = mkdtempSync(join(tmpdir(), 'quarantine-worker-policy-'));

  it('takes QUARANTINE_POLICY, and the safe default without it', () => {
    const file = join(dir, 'strict.json');
    writeFileSync(file, JSON.stringify(POLICY));
    expect(workerConfigFromEnv({ QUARANTINE_POLICY: file, QUARANTINE_DATA_DIR: dir }).policy).toEqual(parsePolicy(POLICY));
    expect(workerConfigFromEnv({ QUARANTINE_DATA_DIR: dir }).policy).toEqual(DEFAULT_POLICY);
  });

  it('refuses to start on a bad policy file, naming the file and the field, before it connects and without the token', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ version: 1, triggers: { malware: { actions: { unpublish: 'auto' } } } }));
    const token = 'npm_policyTestToken0123456789abcdefghijkl';
    // Port 1: nothing listens, so an answer about Temporal would mean it tried to connect first.
    const result = await runCli(['worker'], { QUARANTINE_POLICY: file, QUARANTINE_DATA_DIR: dir, NPM_TOKEN: token, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`quarantine worker: QUARANTINE_POLICY=${file}: policy triggers.malware.actions.unpublish: unpublish always waits for a person; use ${printable('"approval" or "off"')}`]);
    expect(result.stdout + result.stderr).not.toContain(token);
    const missing = await runCli(['worker'], { QUARANTINE_POLICY: join(dir, 'absent.json'), QUARANTINE_DATA_DIR: dir, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`quarantine worker: QUARANTINE_POLICY=${join(dir, 'absent.json')}: no such file`);
  });
});
