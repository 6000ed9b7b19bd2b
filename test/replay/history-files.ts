// The recorded histories kept in the repository: one file per scenario, holding every workflow
// execution the scenario produced (each run of a continued-as-new chain is its own execution).
// Written by record-histories.ts, replayed by test/replay.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { History } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';

export const HISTORIES_DIR = join(__dirname, 'histories');
export const FORMAT = 'quarantine-replay-history/1';

/** Files larger than this as plain JSON are kept gzipped: the repository carries them forever. */
const GZIP_ABOVE_BYTES = 64 * 1024;

const HistoryMessage = temporal.api.history.v1.History;

export interface RecordedExecution {
  workflowId: string;
  runId: string;
  workflowType: string;
  /**
   * The History message as protobufjs writes it for JSON: enums by name, 64-bit integers as decimal
   * strings, bytes in base64, timestamps as { seconds, nanos }. Not the Temporal CLI's proto-JSON:
   * the SDK's historyToJSON/historyFromJSON throw "type must be a Type" with the two protobufjs
   * copies this lockfile installs (@temporalio/common and @temporalio/proto each nest their own).
   */
  history: unknown;
}

export interface HistoryFile {
  format: typeof FORMAT;
  /** Which workflow code recorded it: `<version>-<commit>`. */
  label: string;
  scenario: string;
  description: string;
  executions: RecordedExecution[];
}

export function toRecordedExecution(workflowId: string, runId: string, history: History): RecordedExecution {
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  const workflowType = started?.workflowType?.name;
  if (!workflowType) throw new Error(`the history of ${workflowId} (${runId}) does not begin with WorkflowExecutionStarted`);
  const message = HistoryMessage.fromObject(history);
  return { workflowId, runId, workflowType, history: HistoryMessage.toObject(message, { longs: String, enums: String, bytes: String }) };
}

/** The bytes to write and the file name they go under. */
export function encodeHistoryFile(file: HistoryFile): { name: string; bytes: Buffer } {
  const json = Buffer.from(`${JSON.stringify(file, null, 1)}\n`);
  return json.length > GZIP_ABOVE_BYTES
    ? { name: `${file.scenario}.json.gz`, bytes: gzipSync(json, { level: 9 }) }
    : { name: `${file.scenario}.json`, bytes: json };
}

export function isHistoryFileName(name: string): boolean {
  return name.endsWith('.json') || name.endsWith('.json.gz');
}

export function readHistoryFile(path: string): HistoryFile {
  const raw = readFileSync(path);
  const parsed = JSON.parse((path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')) as Partial<HistoryFile>;
  if (parsed.format !== FORMAT) throw new Error(`${path}: not a ${FORMAT} file (format ${String(parsed.format)})`);
  if (!Array.isArray(parsed.executions) || parsed.executions.length === 0) throw new Error(`${path}: holds no executions`);
  return parsed as HistoryFile;
}

/** Every history file under `dir`, at any depth, as paths relative to it, sorted. */
export function listHistoryFiles(dir: string = HISTORIES_DIR): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at).sort()) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (isHistoryFileName(name)) found.push(relative(dir, path));
    }
  };
  walk(dir);
  return found;
}

/** The History message again, as the replayer takes it. */
export function historyOf(execution: RecordedExecution): History {
  return HistoryMessage.fromObject(execution.history as Record<string, unknown>);
}
