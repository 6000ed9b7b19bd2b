// Moves journalled alerts into Temporal: each drain groups pending reports by incident and sends each
// incident one signal-with-start carrying its reports (split when they would not fit one payload).
// Progress is kept per route: a group that Temporal took is never sent again, even when another group
// of the same drain fails, so a report already applied cannot start a new run after a close. A group
// Temporal refuses for good (an invalid argument, a payload over its limits) goes to the dead-letter
// file and the drain moves on: no alert waits behind it. Delivery is at least once only across a crash
// between a signal and its checkpoint; the workflows take each report id once.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import type { Client } from '@temporalio/client';
import { MAX_INCIDENT_ID_LENGTH } from '../core/incident-id';
import type { Report } from '../core/incident';
import { isContainmentRoute, type Route } from '../core/intake';
import type { CompromiseReport } from '../core/playbook/plan';
import { DEFAULT_POLICY, type Policy } from '../core/playbook/policy';
import { compromiseReportsSignal, reportSignal } from '../workflows/definitions';
import type { playbookWorkflow } from '../workflows/playbook';
import type { Journal, JournalEntry } from './journal';

const STORM_BACKLOG = 20;
/** Measured on two cores shared with a Temporal dev server: 50/s left the acknowledgement p99 near 55 ms, 25/s near 30 ms. */
export const DEFAULT_SIGNALS_PER_SECOND = 25;

/** Temporal refuses any single payload (a workflow's input, a signal's) over 2 MiB (its blobSize limit). */
export const TEMPORAL_PAYLOAD_LIMIT_BYTES = 2 * 1024 * 1024;
/** One signal's reports stay well under the payload limit, whatever else the request carries. */
const SIGNAL_REPORTS_BYTES = 1024 * 1024;
/** One delivery may report to at most this many incidents: at 25 signals/s that is 20 s of draining. */
export const MAX_ROUTES_PER_DELIVERY = 500;
/** A journal entry at most this large: the journal is read back entry by entry at start. */
export const MAX_ENTRY_BYTES = 8 * 1024 * 1024;

/** Why Temporal would refuse this delivery's routes for good (or the journal should not hold it), if it would. */
export function deliveryLimitProblem(routes: readonly Route[]): string | undefined {
  if (routes.length > MAX_ROUTES_PER_DELIVERY) {
    return `this delivery names ${routes.length} incidents (packages × alerts); at most ${MAX_ROUTES_PER_DELIVERY} are accepted in one delivery: send it in parts`;
  }
  let total = 0;
  for (const route of routes) {
    if (route.incident.length > MAX_INCIDENT_ID_LENGTH) {
      return `the incident id for ${route.report.reportId} would be ${route.incident.length} characters, over the ${MAX_INCIDENT_ID_LENGTH} accepted (too many versions in one alert?)`;
    }
    const bytes = Buffer.byteLength(JSON.stringify(route.request)) + Buffer.byteLength(JSON.stringify([route.report]));
    if (bytes > TEMPORAL_PAYLOAD_LIMIT_BYTES) {
      return `the report ${route.report.reportId} would be ${bytes} bytes in Temporal, over its ${TEMPORAL_PAYLOAD_LIMIT_BYTES}-byte payload limit`;
    }
    total += bytes;
  }
  if (total > MAX_ENTRY_BYTES) return `this delivery would journal ${total} bytes, over the ${MAX_ENTRY_BYTES} accepted: send it in parts`;
  return undefined;
}

/** gRPC status codes (the Temporal client carries the server's in the error's cause). */
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;

/** A refusal that sending again cannot change: the request itself is wrong for this server. */
export function isPermanentRefusal(err: unknown): boolean {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === INVALID_ARGUMENT) return true;
    if (e.code === RESOURCE_EXHAUSTED && /larger than max|size limit|exceeds/i.test(String(e.message))) return true;
  }
  return false;
}

/** An entry with the indexes of its routes still to deliver. */
export interface PendingEntry {
  entry: JournalEntry;
  routes: number[];
}

/** Reports Temporal refused for good, one JSON line each, kept for a person next to the journal. */
export class DeadLetters {
  private lines: number;

  constructor(readonly file: string) {
    this.lines = countLines(file);
  }

  get count(): number {
    return this.lines;
  }

  async add(record: Record<string, unknown>): Promise<void> {
    await appendFile(this.file, `${JSON.stringify(record)}\n`);
    const handle = await open(this.file, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.lines++;
  }
}

function countLines(file: string): number {
  if (!existsSync(file)) return 0;
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let lines = 0;
    for (let position = 0, read = 0; (read = readSync(fd, chunk, 0, chunk.length, position)) > 0; position += read) {
      for (let i = chunk.indexOf(10); i !== -1 && i < read; i = chunk.indexOf(10, i + 1)) lines++;
    }
    return lines;
  } finally {
    closeSync(fd);
  }
}

export interface DrainerOptions {
  client: Client;
  journal: Journal;
  deadLetters: DeadLetters;
  /** Journalled routes not yet delivered when the server started. */
  backlog: PendingEntry[];
  taskQueue: string;
  /** Concurrent signal-with-start calls; the dev server saturates well before this on two cores. */
  concurrency?: number;
  /**
   * How long a drain waits for more alerts before it sends, once a storm is under way (a backlog of
   * STORM_BACKLOG or more): the storm then costs one signal per incident per window instead of one per
   * alert, leaving the CPU to the acknowledgements. A lone alert goes out at once.
   */
  stormLingerMs?: number;
  /**
   * At most this many signal-with-start calls per second, spread evenly: Temporal shares the machine
   * with the intake, and a burst of signals would stall acknowledgements behind it.
   */
  signalsPerSecond?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** The containment policy playbook incidents start under (default: the safe built-in one). */
  policy?: Policy;
}

/** One signal-with-start: reports of one incident, and where each came from in the journal. */
interface Shipment {
  route: Route;
  /** Reports, or for a playbook incident the reports with the releases each names. */
  reports: (Report | CompromiseReport)[];
  from: [seq: number, route: number][];
  /** Of the reports, as JSON. */
  bytes: number;
}

export class Drainer {
  private pending: PendingEntry[];
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly options: DrainerOptions) {
    this.pending = options.backlog.filter((p) => p.routes.length > 0);
  }

  get backlog(): number {
    return this.pending.length;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  get deadLetters(): number {
    return this.options.deadLetters.count;
  }

  enqueue(entry: JournalEntry): void {
    if (entry.routes.length === 0) return;
    this.pending.push({ entry, routes: entry.routes.map((_, i) => i) });
    this.wake?.();
  }

  start(): void {
    this.running ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.running;
  }

  /** Resolves when everything enqueued so far is in Temporal or dead-lettered (tests, shutdown). */
  async idle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending.length > 0) {
      if (Date.now() > deadline) throw new Error(`intake backlog of ${this.pending.length} not drained in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.pending.length === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const linger = this.pending.length >= STORM_BACKLOG ? (this.options.stormLingerMs ?? 1_000) : 10;
      if (this.failures === 0) await new Promise((r) => setTimeout(r, linger));
      const batch = this.pending.slice(0, 5_000);
      const failure = await this.deliver(batch);
      this.pending = this.pending.filter((p) => p.routes.length > 0);
      if (failure) {
        this.failures++;
        this.options.log?.('intake: delivery to Temporal failed; will retry what was not delivered', { error: failure.message, backlog: this.pending.length });
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
      } else {
        this.failures = 0;
      }
    }
  }

  /** Sends the batch's shipments; returns the first transient failure (its shipments stay pending). */
  private async deliver(batch: PendingEntry[]): Promise<Error | undefined> {
    const byIncident = new Map<string, Shipment[]>();
    for (const pending of batch) {
      for (const index of pending.routes) {
        const route = pending.entry.routes[index]!;
        const shipments = byIncident.get(route.incident) ?? [];
        byIncident.set(route.incident, shipments);
        add(shipments, route, pending.entry.seq, index);
      }
    }
    // Our own releases first: their incidents write to the registry; the rest only record.
    const shipments = [...byIncident.values()].flat().sort((a, b) => Number(isContainmentRoute(b.route)) - Number(isContainmentRoute(a.route)));
    const bySeq = new Map(batch.map((p) => [p.entry.seq, p]));
    const concurrency = this.options.concurrency ?? 4;
    const gapMs = 1000 / (this.options.signalsPerSecond ?? DEFAULT_SIGNALS_PER_SECOND);
    let next = 0;
    let nextSlot = performance.now();
    let failure: Error | undefined;
    const worker = async () => {
      while (next < shipments.length && !failure && !this.stopped) {
        const shipment = shipments[next++]!;
        const wait = nextSlot - performance.now();
        nextSlot = Math.max(nextSlot, performance.now()) + gapMs;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        try {
          await this.send(shipment);
        } catch (err) {
          if (!isPermanentRefusal(err)) {
            failure ??= err as Error;
            continue;
          }
          try {
            await this.deadLetter(shipment, err as Error);
          } catch (writeError) {
            // Not parked, so not done: it is tried again, and refused again, until the file takes it.
            failure ??= writeError as Error;
            continue;
          }
        }
        this.done(shipment, bySeq);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, shipments.length) }, worker));
    return failure;
  }

  private async send({ route, reports }: Shipment): Promise<void> {
    if (route.workflow === 'playbookWorkflow') {
      // The policy in force when it starts goes with the incident: every gate names its rule.
      await this.options.client.workflow.signalWithStart<typeof playbookWorkflow, [CompromiseReport[]]>('playbookWorkflow', {
        workflowId: route.incident,
        taskQueue: this.options.taskQueue,
        args: [{ ...route.request, policy: this.options.policy ?? DEFAULT_POLICY }],
        signal: compromiseReportsSignal,
        signalArgs: [reports as CompromiseReport[]],
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      });
      return;
    }
    await this.options.client.workflow.signalWithStart(route.workflow, {
      workflowId: route.incident,
      taskQueue: this.options.taskQueue,
      args: [route.request],
      signal: reportSignal,
      signalArgs: [reports],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    });
  }

  private async deadLetter(shipment: Shipment, err: Error): Promise<void> {
    const reason = String((err.cause as Error | undefined)?.message ?? err.message);
    const reportIds = shipment.reports.map((r) => ('reportId' in r ? r.reportId : r.report.reportId));
    this.options.log?.('intake: Temporal refused these reports for good; kept in the dead-letter file, later alerts go on', {
      incident: shipment.route.incident.slice(0, 300),
      reports: reportIds.length,
      error: reason,
      file: this.options.deadLetters.file,
    });
    await this.options.deadLetters.add({
      at: new Date().toISOString(),
      error: reason,
      incident: shipment.route.incident,
      workflow: shipment.route.workflow,
      entries: [...new Set(shipment.from.map(([seq]) => seq))],
      reportIds,
      request: shipment.route.request,
      reports: shipment.reports,
    });
  }

  private done(shipment: Shipment, bySeq: Map<number, PendingEntry>): void {
    for (const [seq, index] of shipment.from) {
      const pending = bySeq.get(seq)!;
      pending.routes = pending.routes.filter((i) => i !== index);
      this.options.journal.markDelivered(seq, [index]);
    }
  }
}

/** Adds a report to the incident's last shipment, or opens a new one when it would not fit. */
function add(shipments: Shipment[], route: Route, seq: number, index: number): void {
  const report = route.workflow === 'playbookWorkflow' ? route.compromise : route.report;
  const bytes = Buffer.byteLength(JSON.stringify(report));
  const last = shipments.at(-1);
  if (last && last.bytes + bytes <= SIGNAL_REPORTS_BYTES) {
    last.reports.push(report);
    last.from.push([seq, index]);
    last.bytes += bytes;
    return;
  }
  shipments.push({ route, reports: [report], from: [[seq, index]], bytes });
}
