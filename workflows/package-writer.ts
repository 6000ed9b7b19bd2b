// The writer of one package on one registry: every incident's writes to that package run here, one
// request after another. npm's deprecation (and unpublish) is a read of the whole packument followed by
// a PUT of it: two incidents doing that at once could each put back what the other just changed (a
// tag moved, a message set). Requests come as signals (signal-with-start, so the first one starts the
// writer); the results go back to the incident that asked, as a signal. The writer holds no policy and
// makes no decision: the incident planned and gated every action it sends.
import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { PackageWriteOutcome, PackageWriteRequest, PlaybookActivities, SealedSecret } from '../core/playbook/ports';
import { packageWriteSignal, packageWriterQuery, packageWrittenSignal, type PackageWriterRequestRecord, type PackageWriterView } from './definitions';
import { historyIsLong } from './lifetime';
import { failureOf, NPM_ACTIVITY_OPTIONS } from './playbook';

export interface PackageWriterStart {
  registry: string;
  name: string;
  /** Ends the writer after this long with nothing to run (default 10 minutes); the next request starts a new one. */
  idleTimeoutMs?: number;
  /** Set when the writer continues in a fresh run. */
  resume?: Pick<PackageWriterView, 'recent' | 'served' | 'seen'>;
}

const DEFAULT_IDLE_MS = 10 * 60 * 1000;
const MIN_IDLE_MS = 1_000;
const RECENT_KEPT = 50;
const SEEN_KEPT = 500;

const npm = proxyActivities<PlaybookActivities>(NPM_ACTIVITY_OPTIONS);

function now(): string {
  return new Date(Date.now()).toISOString();
}

export async function packageWriterWorkflow(start: PackageWriterStart): Promise<void> {
  const idleMs = start.idleTimeoutMs !== undefined && start.idleTimeoutMs > 0 ? Math.max(MIN_IDLE_MS, start.idleTimeoutMs) : DEFAULT_IDLE_MS;
  const view: PackageWriterView = {
    registry: start.registry,
    name: start.name,
    queued: [],
    recent: start.resume?.recent ?? [],
    served: start.resume?.served ?? 0,
    seen: start.resume?.seen ?? [],
  };
  /** Passwords stay beside the queue, in memory: the view a query returns never holds one. */
  const queue: { request: PackageWriteRequest; password?: SealedSecret; record: PackageWriterRequestRecord }[] = [];

  setHandler(packageWriterQuery, () => view);
  setHandler(packageWriteSignal, (request: PackageWriteRequest, password?: SealedSecret) => {
    // A retried hand-over delivers the same request again: it runs once.
    if (view.seen.includes(request.requestId) || queue.some((q) => q.request.requestId === request.requestId)) return;
    // A request for another package is a bug in the sender: writing it here would escape the serialisation.
    if (request.name !== start.name || request.registry !== start.registry) {
      log.error('package writer: a request for another package was refused', { requestId: request.requestId, incident: request.incident });
      return;
    }
    const record: PackageWriterRequestRecord = { requestId: request.requestId, incident: request.incident, actions: request.actions.map((a) => a.id), receivedAt: now() };
    queue.push({ request, ...(password ? { password } : {}), record });
    view.queued.push(record);
  });

  for (;;) {
    if (queue.length === 0) {
      if (historyIsLong()) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof packageWriterWorkflow>({ ...start, resume: { recent: view.recent, served: view.served, seen: view.seen } });
      }
      if (!(await condition(() => queue.length > 0, idleMs))) return;
    }
    const { request, password, record } = queue.shift()!;
    view.queued.shift();
    view.running = record;
    record.startedAt = now();
    // One activity for the request; what it left (a failure a retry may fix) runs one activity each.
    const results: PackageWriteOutcome[] = await npm.runNpmActions(request.actions, password).catch(() => []);
    for (const action of request.actions.slice(results.length)) {
      try {
        results.push({ actionId: action.id, outcome: await npm.runNpmAction(action, action.otp ? password : undefined) });
      } catch (err) {
        results.push({ actionId: action.id, failure: failureOf(err) });
      }
    }
    record.finishedAt = now();
    view.running = undefined;
    view.recent = [...view.recent, record].slice(-RECENT_KEPT);
    view.seen = [...view.seen, request.requestId].slice(-SEEN_KEPT);
    view.served += 1;
    try {
      await getExternalWorkflowHandle(request.incident).signal(packageWrittenSignal, { requestId: request.requestId, results });
    } catch (err) {
      // The incident closed or was terminated while we wrote: the writes stand (its successor reads them back).
      log.warn('package writer: the incident that asked is gone', { incident: request.incident, requestId: request.requestId, error: failureOf(err).message });
    }
  }
}
