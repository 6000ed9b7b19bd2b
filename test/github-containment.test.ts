// The GitHub side of containment end to end on the real stack: Temporal, Verdaccio, the worker as it
// runs, and the GitHub stand-in behind Prism validating every request and answer against GitHub's
// OpenAPI description. A compromised build over three packages in two repositories ends with the
// registry contained first, then each repository's publish workflow disabled, its runs cancelled, its
// caches gone and one draft advisory naming exactly the affected versions, all read back from the
// stand-in's own state; rollback enables the workflows and closes the drafts; GitHub down delays only
// the GitHub actions; a worker without GitHub settings records so once and contains the registry.
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { Report } from '../core/incident';
import type { Compromise } from '../core/playbook/plan';
import type { Policy } from '../core/playbook/policy';
import { parsePolicy } from '../core/playbook/policy-file';
import type { PlaybookView } from '../core/playbook/view';
import type { LocalRegistry } from '../stack/registry';
import { approveUpdate, playbookQuery, rollbackUpdate } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import { startGithubStack, type GithubStack } from './helpers/github';
import { npmCli, npmView, pollUntil, startInProcessWorker, statusOrWhy, temporalAddress, temporalNamespace, testRegistry, uniqueTaskQueue, type RunningWorker } from './helpers/stack';

const GITHUB_TOKEN = 'ghp_e2e_worker_token_never_in_history';

function policy(repositories: Record<string, { repository: string; workflow?: string }>): Policy {
  return parsePolicy({
    version: 1,
    approvers: [{ name: 'alice', may: ['all'] }],
    github: { repositories, cancelGraceSeconds: 1, timelineUrl: 'https://quarantine.acme.test/incidents/{incident}' },
  });
}

const buildAlert = (id: string): Report => ({
  reportId: `test:${id}`,
  requestedBy: `test:${id}`,
  reason: `compromised build ${id}`,
  at: new Date().toISOString(),
  alert: { source: 'generic', sourceId: id, kind: 'compromised-build', severity: 'critical', aliases: [], evidence: [], withdrawn: false },
});

describe('the GitHub side of containment on the real stack', () => {
  let registry: LocalRegistry;
  let github: GithubStack;
  let worker: RunningWorker;
  let bareWorker: RunningWorker;
  let connection: Connection;
  let client: Client;
  const taskQueue = uniqueTaskQueue('github');
  const bareQueue = uniqueTaskQueue('github-bare');

  beforeAll(async () => {
    [registry, github] = await Promise.all([testRegistry(), startGithubStack()]);
    github.standin.state.tokens.set(GITHUB_TOKEN, { permissions: { actions: 'write', repository_advisories: 'write', issues: 'write' } });
    worker = await startInProcessWorker({
      registry: registry.url,
      token: registry.tokens.admin,
      taskQueue,
      // No write pacing against the stand-in: GitHub's own 1 s between writes is the default.
      more: { GITHUB_TOKEN, GITHUB_API_URL: github.apiUrl, QUARANTINE_GITHUB_WRITE_INTERVAL_MS: '0' },
    });
    bareWorker = await startInProcessWorker({ registry: registry.url, token: registry.tokens.admin, taskQueue: bareQueue });
    connection = await Connection.connect({ address: temporalAddress() });
    client = new Client({ connection, namespace: temporalNamespace() });
  }, 90_000);
  afterAll(async () => {
    await worker?.stop();
    await bareWorker?.stop();
    await connection?.close();
    await github?.stop();
    await registry?.stop();
  });

  const start = (incident: string, releases: Compromise['releases'], given: Policy, queue = taskQueue): Promise<WorkflowHandle<typeof playbookWorkflow>> =>
    client.workflow.start<typeof playbookWorkflow>('playbookWorkflow', {
      workflowId: incident,
      taskQueue: queue,
      args: [{ compromise: { incident, registry: registry.url, trigger: 'compromised-build', severity: 'critical', releases, advisories: [], approvedReleases: [] }, policy: given, first: { report: buildAlert(incident), releases } }],
    });
  // A pass ends once its actions ran and were read back; the actions' statuses say how each went.
  const githubSettled = (view: PlaybookView) => view.github?.passedAt !== undefined && view.github.actions.length > 0 && view.github.actions.every((a) => !['planned', 'running'].includes(a.status));

  it('contains the registry first, then stops the workflows, cancels runs, purges caches and drafts one advisory per repository; rollback undoes what it can', async () => {
    const { state } = github.standin;
    const core = state.seed({
      owner: 'acme',
      repo: 'core',
      workflows: [{ path: '.github/workflows/release.yml' }, { path: '.github/workflows/ci.yml' }],
      runs: [{ workflowPath: '.github/workflows/release.yml', status: 'in_progress' }, { workflowPath: '.github/workflows/release.yml', status: 'queued', ignoresCancel: true }, { workflowPath: '.github/workflows/ci.yml', status: 'in_progress' }],
      caches: [{ key: 'npm-linux-a', ref: 'refs/heads/main' }, { key: 'npm-linux-b', ref: 'refs/heads/main' }, { key: 'npm-linux-c', ref: 'refs/pull/3/merge' }],
    });
    const cli = state.seed({
      owner: 'acme',
      repo: 'cli',
      workflows: [{ path: '.github/workflows/publish.yml' }],
      runs: [{ workflowPath: '.github/workflows/publish.yml', status: 'in_progress' }],
      caches: [{ key: 'pnpm-store-1', ref: 'refs/heads/main' }],
    });
    const incident = 'compromise-github-e2e';
    const given = policy({
      '@acme/core': { repository: 'acme/core', workflow: 'release.yml' },
      '@acme/utils': { repository: 'acme/core', workflow: 'release.yml' },
      '@acme/cli': { repository: 'acme/cli', workflow: '.github/workflows/publish.yml' },
    });
    const releases = [{ name: '@acme/core', versions: ['1.2.3'] }, { name: '@acme/cli', versions: ['2.0.1'] }, { name: '@acme/utils', versions: ['1.2.0'] }];
    const alertAt = Date.now();
    const handle = await start(incident, releases, given);
    const view = await pollUntil(() => handle.query(playbookQuery), (v) => ['verified', 'contained', 'failed'].includes(v.status) && githubSettled(v), 90_000);

    expect(await statusOrWhy(handle, view, ['contained'])).toBe('contained');
    expect(view.github!.actions.map((a) => [a.action.id, a.status])).toEqual([
      ['github:draft-advisory:acme/cli', 'done'],
      ['github:publish-advisory:acme/cli', 'waiting'],
      ['github:draft-advisory:acme/core', 'done'],
      ['github:publish-advisory:acme/core', 'waiting'],
      ['github:disable-workflow:acme/cli:publish.yml', 'done'],
      ['github:cancel-runs:acme/cli:publish.yml', 'done'],
      ['github:purge-caches:acme/cli', 'done'],
      ['github:disable-workflow:acme/core:release.yml', 'done'],
      ['github:cancel-runs:acme/core:release.yml', 'done'],
      ['github:purge-caches:acme/core', 'done'],
    ]);
    // Every automatic GitHub action was read back in place.
    const verified = new Set(view.events.filter((e) => e.phase === 'verified' && e.target?.startsWith('github:')).map((e) => e.actionId));
    expect(verified.size).toBe(8);

    // What GitHub now holds, from the stand-in's own state.
    expect(core.workflows.map((w) => [w.path, w.state])).toEqual([['.github/workflows/release.yml', 'disabled_manually'], ['.github/workflows/ci.yml', 'active']]);
    expect(core.runs.map((r) => [r.status, r.conclusion])).toEqual([['completed', 'cancelled'], ['completed', 'cancelled'], ['in_progress', null]]);
    expect(cli.workflows[0]!.state).toBe('disabled_manually');
    expect(cli.runs[0]!.conclusion).toBe('cancelled');
    expect([core.caches, cli.caches]).toEqual([[], []]);
    expect(core.advisories).toHaveLength(1);
    expect(cli.advisories).toHaveLength(1);
    expect(core.advisories[0]).toMatchObject({ state: 'draft', severity: 'critical', cwe_ids: ['CWE-506'] });
    expect(core.advisories[0]!.vulnerabilities).toEqual([
      { package: { ecosystem: 'npm', name: '@acme/core' }, vulnerable_version_range: '= 1.2.3', patched_versions: null, vulnerable_functions: null },
      { package: { ecosystem: 'npm', name: '@acme/utils' }, vulnerable_version_range: '= 1.2.0', patched_versions: null, vulnerable_functions: null },
    ]);
    expect(cli.advisories[0]!.vulnerabilities!.map((v) => [v.package?.name, v.vulnerable_version_range])).toEqual([['@acme/cli', '= 2.0.1']]);
    expect(core.advisories[0]!.description).toContain(`Incident: ${incident}`);
    expect(core.advisories[0]!.description).toContain(`Timeline: https://quarantine.acme.test/incidents/${incident}`);
    expect(core.issues).toEqual([]);

    // The registry first: no GitHub write before the containment was read back.
    const contained = Date.parse(view.containedAt!);
    const writes = state.requests.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) expect(Date.parse(write.at)).toBeGreaterThanOrEqual(contained);
    const npm = npmCli(registry.url, registry.tokens.reader);
    const served = await npmView(npm, '@acme/core', ['1.2.3']);
    expect(served.deprecated['1.2.3']).toMatch(/^SECURITY: this release is compromised/);
    expect(served.distTags.latest).toBe('1.2.2');

    const drafted = view.events.find((e) => e.actionId === 'github:draft-advisory:acme/core' && e.phase === 'succeeded')!;
    console.info(`alert -> registry contained ${contained - alertAt} ms; alert -> draft advisory (acme/core) ${Date.parse(drafted.at) - alertAt} ms`);

    // The token stays in the worker: not in the incident's history.
    const history = JSON.stringify(await handle.fetchHistory());
    expect(history).not.toContain(GITHUB_TOKEN);

    // Publishing waits for a person, by id, through the same approval update.
    const published = await handle.executeUpdate(approveUpdate, { args: [{ by: 'alice', actionIds: ['github:publish-advisory:acme/cli'], note: 'confirmed' }] });
    expect(published.github!.actions.find((a) => a.action.id === 'github:publish-advisory:acme/cli')!.status).toBe('done');
    expect(cli.advisories[0]!.state).toBe('published');

    const rolledBack = await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'alice', reason: 'false positive' }] });
    expect(rolledBack.status).toBe('rolled-back');
    expect(core.workflows[0]!.state).toBe('active');
    expect(cli.workflows[0]!.state).toBe('active');
    expect(core.advisories[0]!.state).toBe('closed');
    // Published: GitHub's API cannot take it back, and the rollback says so.
    expect(cli.advisories[0]!.state).toBe('published');
    const notUndoable = rolledBack.events.filter((e) => e.phase === 'not-undoable' && e.target?.startsWith('github:')).map((e) => e.detail);
    expect(notUndoable).toEqual(expect.arrayContaining([
      expect.stringMatching(/^deleted Actions caches cannot be restored; the next runs rebuild them: 3 deleted: npm-linux-a \(refs\/heads\/main\)/),
      expect.stringMatching(/^deleted Actions caches cannot be restored; the next runs rebuild them: 1 deleted: pnpm-store-1/),
      expect.stringMatching(/published advisory of acme\/cli cannot be unpublished/),
    ]));
    expect(rolledBack.github!.actions.find((a) => a.action.id === 'github:draft-advisory:acme/core')!.status).toBe('undone');
    expect((await npmView(npm, '@acme/core', ['1.2.3'])).distTags.latest).toBe('1.2.3');
  }, 150_000);

  it('GitHub down delays only the GitHub actions: the registry is contained and read back first', async () => {
    const { state } = github.standin;
    const outage = state.seed({ owner: 'acme', repo: 'outage', workflows: [{ path: '.github/workflows/release.yml' }], caches: [{ key: 'npm-x', ref: 'refs/heads/main' }] });
    state.fault = { status: 503, remaining: Infinity };
    try {
      const handle = await start('compromise-github-outage', [{ name: '@acme/core', versions: ['1.2.3'] }], policy({ '@acme/core': { repository: 'acme/outage', workflow: 'release.yml' } }));
      const contained = await pollUntil(() => handle.query(playbookQuery), (v) => ['contained', 'verified', 'failed'].includes(v.status) && (v.github?.actions.length ?? 0) > 0, 60_000);
      expect(await statusOrWhy(handle, contained, ['contained'])).toBe('contained');
      expect(contained.github!.actions.every((a) => a.status !== 'done')).toBe(true);
      expect(outage.workflows[0]!.state).toBe('active');
      // GitHub was asked, and answered 503.
      await pollUntil(async () => state.requests.filter((r) => r.status === 503).length, (n) => n > 0, 30_000);
      state.fault = undefined;
      const after = await pollUntil(() => handle.query(playbookQuery), githubSettled, 120_000);
      expect(after.github!.actions.filter((a) => a.action.gate === 'auto').map((a) => a.status)).toEqual(['done', 'done', 'done', 'done']);
      expect(outage.workflows[0]!.state).toBe('disabled_manually');
      expect(outage.caches).toEqual([]);
      expect(outage.advisories).toHaveLength(1);
      expect(Date.parse(after.containedAt!)).toBeLessThan(Date.parse(after.events.find((e) => e.target?.startsWith('github:') && e.phase === 'succeeded')!.at));
      await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'alice', reason: 'test done' }] });
    } finally {
      state.fault = undefined;
    }
  }, 200_000);

  it('a worker without GitHub settings records "GitHub not configured" once and contains the registry', async () => {
    const handle = await start('compromise-github-bare', [{ name: '@acme/cli', versions: ['2.0.1'] }], policy({ '@acme/cli': { repository: 'acme/cli', workflow: 'publish.yml' } }), bareQueue);
    const view = await pollUntil(() => handle.query(playbookQuery), (v) => v.github?.notConfigured === true && ['contained', 'verified'].includes(v.status), 60_000);
    expect(await statusOrWhy(handle, view, ['contained', 'verified'])).toMatch(/^(contained|verified)$/);
    expect(view.github!.actions).toEqual([]);
    expect(view.events.filter((e) => e.detail.startsWith('GitHub not configured'))).toHaveLength(1);
    await handle.executeUpdate(rollbackUpdate, { args: [{ by: 'alice', reason: 'test done' }] });
  }, 90_000);
});
