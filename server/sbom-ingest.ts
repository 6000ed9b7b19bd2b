// SBOM ingest for POST /v1/sboms, off the event loop that acknowledges alerts. Checking the signature
// of a body of many megabytes, validating it against the CycloneDX schema and indexing it takes from
// tens of milliseconds to seconds of CPU: in a worker thread of its own, alerts are acknowledged in the
// meantime. The thread has a heap limit of its own, so a document that needs more memory than that
// costs a restarted thread, never the intake. One SBOM is ingested at a time; a few wait, more are
// answered 503 (CI sends it again).
import { Worker, isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AlertRejection } from '../core/alert';
import { verifyStandardWebhook, type StandardWebhookHeaders } from '../core/alerts/signatures';
import type { ReleaseIndex } from '../core/release-index';
import { ingestSbom, SbomRejection, type IngestResult } from '../core/sbom';
import { InvalidSpecError, parseReleaseSpec } from '../core/spec';
import { openReleaseIndex } from '../store/sqlite-store';

export interface SbomDelivery {
  /** The raw body, exactly as signed. Handed over to the thread: the caller must not use it afterwards. */
  body: Buffer;
  headers: StandardWebhookHeaders;
  /** The `release` query parameter, unparsed: it is read only once the signature is checked. */
  release?: string;
}

/** What the route answers: the ingest result, or a refusal with its HTTP status. */
export type SbomAnswer = { ok: true; result: IngestResult } | { ok: false; status: 400 | 401 | 413 | 415 | 422 | 503; error: string; field?: string };

export interface SbomIngester {
  ingest(delivery: SbomDelivery): Promise<SbomAnswer>;
  close(): Promise<void>;
}

export interface SbomIngesterOptions {
  /** The release index file the thread writes (its own connection; SQLite WAL lets the others read meanwhile). */
  indexFile: string;
  /** Standard Webhooks secrets (QUARANTINE_WEBHOOK_SECRETS). */
  secrets: string[];
  /** SBOMs waiting behind the one being ingested before more are refused with 503. */
  maxWaiting?: number;
  /** Old-generation heap of the thread, MiB. */
  maxHeapMb?: number;
}

export const DEFAULT_SBOM_WAITING = 4;
/** How far a webhook-timestamp may be from now (the Standard Webhooks check's default). */
export const STANDARD_WEBHOOK_TOLERANCE_SECONDS = 300;
export const DEFAULT_SBOM_HEAP_MB = 1024;

interface Job {
  seq: number;
  body: Uint8Array;
  headers: StandardWebhookHeaders;
  release?: string;
}

type Reply = { seq: number; answer: SbomAnswer } | { seq: number; failed: string };

/** The compiled thread entry: this file in dist/, also when the caller runs from source (under jest). */
function threadScript(): string {
  if (__filename.endsWith('.js')) return __filename;
  const built = join(__dirname, '..', 'dist', 'server', 'sbom-ingest.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build`);
  return built;
}

/** The whole ArrayBuffer of a Buffer that owns it can be moved to the thread; a slice of a shared pool is copied. */
function transferable(body: Buffer): Uint8Array {
  if (body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.buffer instanceof ArrayBuffer) return new Uint8Array(body.buffer);
  return Uint8Array.prototype.slice.call(body);
}

export function startSbomIngester(options: SbomIngesterOptions): SbomIngester {
  const maxWaiting = options.maxWaiting ?? DEFAULT_SBOM_WAITING;
  const maxHeapMb = options.maxHeapMb ?? DEFAULT_SBOM_HEAP_MB;
  let thread: Worker | undefined;
  let seq = 0;
  let closed = false;
  const waiting: { job: Job; settle: (answer: SbomAnswer) => void; fail: (error: Error) => void }[] = [];
  let running: (typeof waiting)[number] | undefined;

  const spawn = (): Worker => {
    const worker = new Worker(threadScript(), {
      workerData: { role: 'sbom-ingest', indexFile: options.indexFile, secrets: options.secrets },
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb },
    });
    worker.on('message', (reply: Reply) => {
      const current = running;
      if (!current || current.job.seq !== reply.seq) return;
      running = undefined;
      if ('answer' in reply) current.settle(reply.answer);
      else current.fail(new Error(`SBOM ingest failed: ${reply.failed}`));
      next();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const current = running;
      running = undefined;
      thread = undefined;
      if (current) {
        // The document in hand is the cause when the heap runs out: refuse it; the others get a new thread.
        if (error.code === 'ERR_WORKER_OUT_OF_MEMORY') current.settle({ ok: false, status: 422, error: `the SBOM needs more than the ${maxHeapMb} MiB of memory its ingest may use`, field: 'body' });
        else current.fail(error);
      }
      next();
    });
    worker.on('exit', () => {
      // An 'error' has already handed the job on and let go of this thread.
      if (thread !== worker) return;
      thread = undefined;
      const current = running;
      if (current && !closed) {
        running = undefined;
        current.fail(new Error('the SBOM ingest thread stopped'));
        next();
      }
    });
    worker.unref();
    return worker;
  };

  const next = (): void => {
    if (running || closed) return;
    const item = waiting.shift();
    // An idle thread does not keep the process alive; one with an SBOM in hand does.
    if (!item) return void thread?.unref();
    running = item;
    thread ??= spawn();
    thread.ref();
    const transfer = item.job.body.buffer instanceof ArrayBuffer ? [item.job.body.buffer] : [];
    thread.postMessage(item.job, transfer);
  };

  return {
    ingest(delivery) {
      if (closed) return Promise.resolve({ ok: false, status: 503, error: 'the intake is stopping: send the SBOM again' });
      if (waiting.length >= maxWaiting) {
        return Promise.resolve({ ok: false, status: 503, error: `${waiting.length + 1} SBOMs are already being ingested: send it again in a moment` });
      }
      return new Promise<SbomAnswer>((settle, fail) => {
        const job: Job = { seq: ++seq, body: transferable(delivery.body), headers: delivery.headers, ...(delivery.release !== undefined ? { release: delivery.release } : {}) };
        waiting.push({ job, settle, fail });
        next();
      });
    },
    async close() {
      closed = true;
      for (const item of waiting.splice(0)) item.settle({ ok: false, status: 503, error: 'the intake is stopping: send the SBOM again' });
      running?.settle({ ok: false, status: 503, error: 'the intake is stopping: send the SBOM again' });
      running = undefined;
      if (thread) await thread.terminate();
      thread = undefined;
    },
  };
}

// ---- the thread ---------------------------------------------------------------------------------

async function answer(job: Job, index: () => ReleaseIndex, secrets: string[]): Promise<SbomAnswer> {
  const body = Buffer.from(job.body.buffer, job.body.byteOffset, job.body.byteLength);
  try {
    verifyStandardWebhook(body, job.headers, secrets, Math.floor(Date.now() / 1000), STANDARD_WEBHOOK_TOLERANCE_SECONDS);
    let release;
    try {
      release = job.release === undefined ? undefined : parseReleaseSpec(job.release);
    } catch (error) {
      if (error instanceof InvalidSpecError) throw new AlertRejection(400, `release: ${error.message}`, 'release');
      throw error;
    }
    return { ok: true, result: await ingestSbom(index(), body, release ? { release } : {}) };
  } catch (error) {
    if (error instanceof AlertRejection) return { ok: false, status: error.status, error: error.message, ...(error.field ? { field: error.field } : {}) };
    if (error instanceof SbomRejection) return { ok: false, status: 422, error: error.message, field: 'body' };
    throw error;
  }
}

function runThread(port: MessagePort, data: { indexFile: string; secrets: string[] }): void {
  let opened: ReleaseIndex | undefined;
  const index = (): ReleaseIndex => (opened ??= openReleaseIndex(data.indexFile));
  port.on('message', (job: Job) => {
    answer(job, index, data.secrets).then(
      (result) => port.postMessage({ seq: job.seq, answer: result } satisfies Reply),
      (error: unknown) => port.postMessage({ seq: job.seq, failed: error instanceof Error ? error.message : String(error) } satisfies Reply),
    );
  });
}

if (!isMainThread && parentPort && (workerData as { role?: unknown } | null)?.role === 'sbom-ingest') {
  runThread(parentPort, workerData as { indexFile: string; secrets: string[] });
}
