// Replays every recorded history against a set of workflows and says which ones do not replay.
import { join } from 'node:path';
import { Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { HISTORIES_DIR, historyOf, listHistoryFiles, readHistoryFile } from './history-files';

export interface ReplayFailure {
  /** The history file, relative to the histories folder. */
  file: string;
  workflowType: string;
  workflowId: string;
  runId: string;
  error: string;
}

export interface ReplayOutcome {
  files: string[];
  replayed: number;
  failures: ReplayFailure[];
}

/**
 * Replays each execution of each history file under `dir`. No files is an error, not a pass: a
 * missing or emptied folder must not let a workflow change through unchecked.
 */
export async function replayAll(workflows: Pick<ReplayWorkerOptions, 'workflowBundle' | 'workflowsPath'>, dir: string = HISTORIES_DIR): Promise<ReplayOutcome> {
  const files = listHistoryFiles(dir);
  if (files.length === 0) {
    throw new Error(`no recorded histories under ${dir}: record them with \`REPLAY_HISTORY_LABEL=v<N>-<commit> npm run record:histories\``);
  }
  const executions = files.flatMap((file) => readHistoryFile(join(dir, file)).executions.map((execution) => ({ file, execution })));
  const failures: ReplayFailure[] = [];
  let replayed = 0;
  const results = Worker.runReplayHistories(
    { ...workflows, replayName: 'quarantine-recorded-histories' },
    executions.map(({ execution }) => ({ workflowId: execution.workflowId, history: historyOf(execution) })),
  );
  // One result per history, in the order given.
  for await (const result of results) {
    const { file, execution } = executions[replayed]!;
    replayed++;
    if (result.error) {
      failures.push({ file, workflowType: execution.workflowType, workflowId: execution.workflowId, runId: execution.runId, error: `${result.error.name}: ${result.error.message}` });
    }
  }
  if (replayed !== executions.length) throw new Error(`replayed ${replayed} of ${executions.length} recorded executions`);
  return { files, replayed, failures };
}
