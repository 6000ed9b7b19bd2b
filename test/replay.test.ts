// Incidents in flight survive a deploy: every history recorded from an earlier version of the
// workflow code (test/replay/histories/<label>/*) replays on the workflows this build ships, the
// prebuilt bundle the worker loads. A workflow change that alters the command sequence of a recorded
// path fails here; it must go behind patched() or into a new workflow type.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../worker/bundle';
import { workflowSource } from '../worker/index';
import { BATCHED_READS_PATCH, DEPRECATIONS_FIRST_PATCH, PACKAGE_WRITERS_PATCH, WRITER_BATCHES_PATCH, WRITER_READ_BACK_PATCH } from '../workflows/definitions';
import { GITHUB_ACTIONS_PATCH } from '../workflows/github-containment';
import { listHistoryFiles, readHistoryFile, HISTORIES_DIR, type RecordedExecution } from './replay/history-files';
import { replayAll } from './replay/replay-all';

jest.setTimeout(300_000);
// A replay worker starts and stops per call, and the core logs each expected nondeterminism of the changed workflows: the assertions name the files instead.
Runtime.install({ logger: new DefaultLogger('ERROR') });

// The paths recorded from the first version; a later label adds to them, never replaces them.
const FIRST_LABEL = 'v1-6d6756c';
const FIRST_SCENARIOS = [
  'incident-contained-then-closed',
  'incident-continue-as-new',
  'incident-dry-run',
  'incident-failed-then-retried',
  'incident-signal-with-start-joined',
  'watch-compromised-build',
  'watch-continue-as-new',
  'watch-dependency-contained',
  'watch-leaked-token',
  'watch-review',
  'watch-withdrawn',
];

// The paths only the v2 workflows have (behind these patches); a later label may record them again.
const V2_PATCH_OF: Record<string, string> = { incidentWorkflow: 'incident-v2', watchIncidentWorkflow: 'watch-incident-v2' };
const V2_ONLY_SCENARIOS = ['incident-drift-on-report', 'incident-drift-on-timer', 'incident-held-then-approved', 'incident-recorded', 'watch-dependency-held'];

// The containment playbook, a workflow type of its own (workflows/playbook.ts).
const PLAYBOOK_SCENARIOS = ['playbook-on-call-rejected-joined', 'playbook-intake-held', 'playbook-rolled-back', 'playbook-drift-on-timer'];

/** The patch ids an execution recorded, read from its marker events. */
function patchesOf(execution: RecordedExecution): string[] {
  const events = (execution.history as { events?: { markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: string }[] }> } }[] }).events ?? [];
  return events.flatMap((e) => Object.values(e.markerRecordedEventAttributes?.details ?? {}))
    .flatMap((d) => d.payloads ?? [])
    .map((p) => (JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8')) as { id?: string }).id ?? '');
}

describe('recorded workflow histories', () => {
  it('are kept for every recorded path, continued-as-new chains with all their runs', () => {
    const files = listHistoryFiles();
    const first = files.filter((f) => f.startsWith(`${FIRST_LABEL}/`)).map((f) => f.slice(FIRST_LABEL.length + 1).replace(/\.json(\.gz)?$/, ''));
    expect(first).toEqual(FIRST_SCENARIOS);
    for (const scenario of ['incident-continue-as-new', 'watch-continue-as-new']) {
      const [file] = files.filter((f) => f.startsWith(`${FIRST_LABEL}/${scenario}.`));
      const runs = readHistoryFile(join(HISTORIES_DIR, file!)).executions;
      expect(runs).toHaveLength(2);
      expect(new Set(runs.map((r) => r.workflowId)).size).toBe(1);
    }
  });

  it('keep the paths only the v2 workflows have, each recorded on the v2 branch of its workflow', () => {
    const files = listHistoryFiles();
    for (const scenario of V2_ONLY_SCENARIOS) {
      const recorded = files.filter((f) => f.replace(/^.*\//, '').replace(/\.json(\.gz)?$/, '') === scenario);
      expect({ scenario, recorded: recorded.length > 0 }).toEqual({ scenario, recorded: true });
      for (const file of recorded) {
        for (const execution of readHistoryFile(join(HISTORIES_DIR, file)).executions) {
          expect({ file, patches: patchesOf(execution) }).toEqual({ file, patches: [V2_PATCH_OF[execution.workflowType]] });
        }
      }
    }
  });

  it('keep the playbook paths, recorded from the playbook workflow type', () => {
    const files = listHistoryFiles();
    for (const scenario of PLAYBOOK_SCENARIOS) {
      const recorded = files.filter((f) => f.replace(/^.*\//, '').replace(/\.json(\.gz)?$/, '') === scenario);
      expect({ scenario, recorded: recorded.length > 0 }).toEqual({ scenario, recorded: true });
      for (const file of recorded) {
        for (const execution of readHistoryFile(join(HISTORIES_DIR, file)).executions) {
          expect({ file, type: execution.workflowType }).toEqual({ file, type: expect.stringMatching(/^(playbookWorkflow|packageWriterWorkflow)$/) });
        }
      }
    }
  });

  it('keep a playbook recorded since the package writers, with the writer that ran its writes', () => {
    const executions = listHistoryFiles()
      .filter((f) => f.endsWith('/playbook-rolled-back.json') || f.endsWith('/playbook-rolled-back.json.gz'))
      .flatMap((f) => readHistoryFile(join(HISTORIES_DIR, f)).executions);
    const writers = executions.filter((e) => e.workflowType === 'packageWriterWorkflow');
    expect(writers.length).toBeGreaterThan(0);
    expect(executions.filter((e) => e.workflowType === 'playbookWorkflow').some((e) => patchesOf(e).includes(PACKAGE_WRITERS_PATCH))).toBe(true);
  });

  it('keep playbooks recorded since writers read back, the GitHub side, deprecations first and batched reads, so that each path replays', () => {
    const patches = listHistoryFiles()
      .filter((f) => /\/playbook-[^/]+\.json(\.gz)?$/.test(f))
      .flatMap((f) => readHistoryFile(join(HISTORIES_DIR, f)).executions)
      .filter((e) => e.workflowType === 'playbookWorkflow')
      .flatMap(patchesOf);
    expect(patches).toEqual(expect.arrayContaining([WRITER_READ_BACK_PATCH, GITHUB_ACTIONS_PATCH, DEPRECATIONS_FIRST_PATCH, BATCHED_READS_PATCH]));
  });

  it('keep package writers recorded since they write packages together, and from before', () => {
    const writers = listHistoryFiles()
      .filter((f) => /\/playbook-[^/]+\.json(\.gz)?$/.test(f))
      .flatMap((f) => readHistoryFile(join(HISTORIES_DIR, f)).executions)
      .filter((e) => e.workflowType === 'packageWriterWorkflow');
    expect(writers.some((e) => patchesOf(e).includes(WRITER_BATCHES_PATCH))).toBe(true);
    expect(writers.some((e) => !patchesOf(e).includes(WRITER_BATCHES_PATCH))).toBe(true);
  });

  it('replay on the shipped workflow bundle without a nondeterminism error', async () => {
    const source = workflowSource();
    // The worker falls back to bundling from source when there is no prebuilt bundle; the test must check what ships.
    expect(source.workflowBundle).toEqual({ codePath: WORKFLOW_BUNDLE_PATH });
    const outcome = await replayAll(source);
    expect(outcome.failures).toEqual([]);
    expect(outcome.replayed).toBeGreaterThanOrEqual(FIRST_SCENARIOS.length);
  });

  it('reject a workflow that changed its command sequence, naming the files', async () => {
    const outcome = await replayAll({ workflowsPath: require.resolve('./replay/changed-workflows') });
    const withIncident = outcome.files.filter((file) => readHistoryFile(join(HISTORIES_DIR, file)).executions.some((e) => e.workflowType === 'incidentWorkflow'));
    expect(withIncident.length).toBeGreaterThan(0);
    expect([...new Set(outcome.failures.map((f) => f.file))]).toEqual(withIncident);
    for (const failure of outcome.failures) {
      expect(failure.workflowType).toBe('incidentWorkflow');
      expect(failure.error).toMatch(/DeterminismViolationError|[Nn]ondeterminism/);
    }
  });

  it('fail, not pass, when there are none to replay', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'quarantine-no-histories-'));
    await expect(replayAll(workflowSource(), empty)).rejects.toThrow(/no recorded histories/);
    await expect(replayAll(workflowSource(), join(empty, 'missing'))).rejects.toThrow(/no recorded histories/);
  });
});
