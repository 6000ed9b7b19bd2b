// The writers of a registry's packages: every incident's writes to a package run in that package's
// writer, after every earlier request's writes to the same package. npm's deprecation (and unpublish)
// is a read of the whole packument followed by a PUT of it: two incidents doing that at once could
// each put back what the other just changed (a tag moved, a message set). A few writers share a
// registry's packages (core/incident-id.ts packageWriterId); within one, different packages run at
// once. Requests come as signals (signal-with-start, so the first one starts the writer); each writer
// answers the incident that asked with one signal. The writer holds no policy and makes no decision:
// the incident planned and gated every action it sends.
import { allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, log, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import { activityBatches, type PackageWriteOutcome, type PackageWriteRequest, type PackageWrites, type PackageWritten, type PlaybookActivities, type SealedSecret } from '../core/playbook/ports';
import { packageWriteSignal, packageWriterQuery, packageWrittenSignal, WRITER_BATCHES_PATCH, type PackageWriterRecord, type PackageWriterView } from './definitions';
import { historyIsLong } from './lifetime';
import { failureOf, NPM_ACTIVITY_OPTIONS } from './playbook';

/** A request taken and not yet started when the writer continued as new: its password, if any, is an argument of its own. */
interface CarriedRequest {
  request: PackageWriteRequest;
  password?: number;
}

export interface PackageWriterStart {
  registry: string;
  /** Ends the writer after this long with nothing to run (default 10 minutes); the next request starts a new one. */
  idleTimeoutMs?: number;
  /** Set when the writer continues in a fresh run. */
  resume?: Pick<PackageWriterView, 'recent' | 'served' | 'seen'> & { waiting: CarriedRequest[] };
}

const DEFAULT_IDLE_MS = 10 * 60 * 1000;
const MIN_IDLE_MS = 1_000;
const RECENT_KEPT = 100;
const SEEN_KEPT = 500;

const npm = proxyActivities<PlaybookActivities>(NPM_ACTIVITY_OPTIONS);

function now(): string {
  return new Date(Date.now()).toISOString();
}

/**
 * One package's writes: in one activity (read back in it too when the incident asks), and what it left
 * (a failure a retry may fix) one activity each. Which activity runs follows from the request alone, so
 * writers replay requests recorded before read-backs the way they ran them.
 */
async function runWrites(registry: string, write: PackageWrites, password?: SealedSecret): Promise<PackageWritten> {
  let results: PackageWriteOutcome[];
  if (write.readBack) {
    const written = await npm.runPackageWrites(registry, write, password).catch(() => undefined);
    if (written && written.results.length === write.actions.length) return written;
    results = written?.results ?? [];
  } else {
    results = await npm.runNpmActions(write.actions, password).catch(() => []);
  }
  return { results: await runLeftOneByOne(write, results, password) };
}

/** The actions an activity left (it stopped before a failure a retry may fix), one activity each, with Temporal's retries. */
async function runLeftOneByOne(write: PackageWrites, done: readonly PackageWriteOutcome[], password?: SealedSecret): Promise<PackageWriteOutcome[]> {
  const results = [...done];
  for (const action of write.actions.slice(results.length)) {
    try {
      results.push({ actionId: action.id, outcome: await npm.runNpmAction(action, action.otp ? password : undefined) });
    } catch (err) {
      results.push({ actionId: action.id, failure: failureOf(err) });
    }
  }
  return results;
}

/**
 * Writes to a few different packages in one activity (each read back in it when asked), then what it
 * left of each, one by one. One activity per package cost Temporal a schedule, a poll, a completion and
 * a workflow task each: for a campaign of 42 packages that was most of the writers' time.
 */
async function runWritesTogether(registry: string, writes: readonly PackageWrites[], password?: SealedSecret): Promise<PackageWritten[]> {
  const written = await npm.runPackagesWrites(registry, writes, password).catch(() => undefined);
  return Promise.all(
    writes.map(async (write, i) => {
      const answer = written?.[i];
      if (answer && answer.results.length === write.actions.length) return answer;
      return { results: await runLeftOneByOne(write, answer?.results ?? [], password) };
    }),
  );
}

export async function packageWriterWorkflow(start: PackageWriterStart, ...carriedPasswords: SealedSecret[]): Promise<void> {
  const idleMs = start.idleTimeoutMs !== undefined && start.idleTimeoutMs > 0 ? Math.max(MIN_IDLE_MS, start.idleTimeoutMs) : DEFAULT_IDLE_MS;
  const view: PackageWriterView = {
    registry: start.registry,
    pending: [],
    recent: start.resume?.recent ?? [],
    served: start.resume?.served ?? 0,
    seen: start.resume?.seen ?? [],
  };
  /** Requests taken and not started; passwords stay here, in memory: the view a query returns never holds one. */
  const waiting: { request: PackageWriteRequest; password?: SealedSecret }[] = (start.resume?.waiting ?? []).map((c) => ({
    request: c.request,
    ...(c.password !== undefined && carriedPasswords[c.password] ? { password: carriedPasswords[c.password] } : {}),
  }));
  /** The tail of each package's writes: the next request's writes to it start after it. */
  const lanes = new Map<string, Promise<unknown>>();
  let inFlight = 0;

  setHandler(packageWriterQuery, () => view);
  setHandler(packageWriteSignal, (request: PackageWriteRequest, password?: SealedSecret) => {
    // A retried hand-over delivers the same request again: it runs once.
    if (view.seen.includes(request.requestId) || waiting.some((w) => w.request.requestId === request.requestId)) return;
    // A request for another registry is a bug in the sender: writing it here would escape the serialisation.
    if (request.registry !== start.registry) {
      log.error('package writer: a request for another registry was refused', { requestId: request.requestId, incident: request.incident });
      return;
    }
    waiting.push({ request, ...(password ? { password } : {}) });
  });

  function begin(request: PackageWriteRequest, password?: SealedSecret): void {
    inFlight += 1;
    view.seen = [...view.seen, request.requestId].slice(-SEEN_KEPT);
    // Packages no earlier request is still writing start now, a few to an activity; the others wait
    // for their turn and then run alone.
    const together = new Map<PackageWrites, Promise<PackageWritten>>();
    if (patched(WRITER_BATCHES_PATCH)) {
      const free = request.writes.filter((write, i) => !lanes.has(write.name) && request.writes.findIndex((w) => w.name === write.name) === i);
      for (const group of activityBatches(free)) {
        const running = runWritesTogether(request.registry, group, password);
        group.forEach((write, i) => together.set(write, running.then((all) => all[i]!)));
      }
    }
    const parts = request.writes.map((write) => {
      const record: PackageWriterRecord = { requestId: request.requestId, incident: request.incident, name: write.name, actions: write.actions.map((a) => a.id), receivedAt: now() };
      view.pending.push(record);
      const started = together.get(write);
      const run = (started ? Promise.resolve() : (lanes.get(write.name) ?? Promise.resolve())).then(async () => {
        record.startedAt = now();
        const written = started ? await started : await runWrites(request.registry, write, password);
        record.finishedAt = now();
        view.pending = view.pending.filter((r) => r !== record);
        view.recent = [...view.recent, record].slice(-RECENT_KEPT);
        return written;
      });
      const tail = run.catch(() => undefined);
      lanes.set(write.name, tail);
      void tail.then(() => lanes.get(write.name) === tail && lanes.delete(write.name));
      return run;
    });
    void Promise.all(parts).then(async (written) => {
      view.served += 1;
      const readBack = request.writes.flatMap((write, i) => {
        const facts = written[i]!.facts;
        return facts === undefined ? [] : [{ name: write.name, facts }];
      });
      try {
        await getExternalWorkflowHandle(request.incident).signal(packageWrittenSignal, {
          requestId: request.requestId,
          writer: workflowInfo().workflowId,
          results: written.flatMap((w) => w.results),
          ...(readBack.length > 0 ? { readBack } : {}),
        });
      } catch (err) {
        // The incident closed or was terminated while we wrote: the writes stand (its successor reads them back).
        log.warn('package writer: the incident that asked is gone', { incident: request.incident, requestId: request.requestId, error: failureOf(err).message });
      } finally {
        inFlight -= 1;
      }
    });
  }

  for (;;) {
    if (historyIsLong()) {
      // Finish what runs, then carry what waits (passwords as arguments of their own: sealed by the codec).
      await condition(() => inFlight === 0);
      await condition(allHandlersFinished);
      const passwords: SealedSecret[] = [];
      const carried: CarriedRequest[] = waiting.map((w) => (w.password ? { request: w.request, password: passwords.push(w.password) - 1 } : { request: w.request }));
      await continueAsNew<typeof packageWriterWorkflow>({ ...start, resume: { recent: view.recent, served: view.served, seen: view.seen, waiting: carried } }, ...passwords);
    }
    for (const { request, password } of waiting.splice(0)) begin(request, password);
    const busy = await condition(() => waiting.length > 0 || historyIsLong(), idleMs);
    if (!busy && inFlight === 0 && waiting.length === 0) return;
  }
}
