// Moves journalled alerts into Temporal: each drain groups pending reports by incident and sends each
// incident one signal-with-start carrying all of its reports. Delivery is at least once (a crash between
// the signal and the checkpoint resends); the workflows take each report id once, so every acknowledged
// alert lands in its incident exactly once.
import type { Client } from '@temporalio/client';
import type { Report } from '../core/incident';
import type { Route } from '../core/intake';
import { reportSignal } from '../workflows/definitions';
import type { Journal, JournalEntry } from './journal';

const STORM_BACKLOG = 20;
/** Measured on two cores shared with a Temporal dev server: 50/s left the acknowledgement p99 near 55 ms, 25/s near 30 ms. */
export const DEFAULT_SIGNALS_PER_SECOND = 25;

export interface DrainerOptions {
  client: Client;
  journal: Journal;
  /** Journalled entries not yet delivered when the server started. */
  backlog: JournalEntry[];
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
}

export class Drainer {
  private pending: JournalEntry[];
  private running: Promise<void> | undefined;
  private stopped = false;
  private failures = 0;
  private wake: (() => void) | undefined;

  constructor(private readonly options: DrainerOptions) {
    this.pending = [...options.backlog];
  }

  get backlog(): number {
    return this.pending.length;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  enqueue(entry: JournalEntry): void {
    this.pending.push(entry);
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

  /** Resolves when everything enqueued so far is in Temporal (tests, shutdown). */
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
      try {
        await this.deliver(batch);
        this.pending.splice(0, batch.length);
        this.options.journal.markDelivered(batch.at(-1)!.seq);
        this.failures = 0;
      } catch (err) {
        this.failures++;
        this.options.log?.('intake: delivery to Temporal failed; will retry', { error: (err as Error).message, backlog: this.pending.length });
        await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** Math.min(this.failures, 6))));
      }
    }
  }

  private async deliver(batch: JournalEntry[]): Promise<void> {
    const byIncident = new Map<string, { route: Route; reports: Report[] }>();
    for (const entry of batch) {
      for (const route of entry.routes) {
        const group = byIncident.get(route.incident);
        if (group) group.reports.push(route.report);
        else byIncident.set(route.incident, { route, reports: [route.report] });
      }
    }
    // Our own releases first: their incidents write to the registry; the rest only record.
    const groups = [...byIncident.values()].sort(
      (a, b) => Number(b.route.workflow === 'incidentWorkflow') - Number(a.route.workflow === 'incidentWorkflow'),
    );
    const concurrency = this.options.concurrency ?? 4;
    const gapMs = 1000 / (this.options.signalsPerSecond ?? DEFAULT_SIGNALS_PER_SECOND);
    let next = 0;
    let nextSlot = performance.now();
    const worker = async () => {
      while (next < groups.length) {
        const { route, reports } = groups[next++]!;
        const wait = nextSlot - performance.now();
        nextSlot = Math.max(nextSlot, performance.now()) + gapMs;
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await this.options.client.workflow.signalWithStart(route.workflow, {
          workflowId: route.incident,
          taskQueue: this.options.taskQueue,
          args: [route.request],
          signal: reportSignal,
          signalArgs: [reports],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
  }
}
