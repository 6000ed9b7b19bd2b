// One gate per registry for every activity of this worker: at most `limit` requests in flight, and
// once the registry answers 429 with a retry-after, nobody calls it again before then. Registries rate
// limit per account, not per request (npm: 429s with waits up to ~32 minutes on bulk writes).
import { RegistryError } from '../clients/npm/errors';

export class RegistryGate {
  private readonly inFlight = new Map<string, number>();
  private readonly queues = new Map<string, (() => void)[]>();
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Runs `call` when the registry has a free slot and is not asking us to wait. */
  async run<T>(registry: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(registry);
    try {
      const wait = (this.notBefore.get(registry) ?? 0) - Date.now();
      if (wait > 0) await sleep(wait, signal);
      return await call();
    } catch (err) {
      if (err instanceof RegistryError && err.code === 'RATE_LIMITED') {
        const until = Date.now() + (err.retryAfterMs ?? 5_000);
        this.notBefore.set(registry, Math.max(this.notBefore.get(registry) ?? 0, until));
      }
      throw err;
    } finally {
      this.release(registry);
    }
  }

  /** When the registry said to come back, if that is still ahead. */
  waitingUntil(registry: string): number | undefined {
    const until = this.notBefore.get(registry);
    return until !== undefined && until > Date.now() ? until : undefined;
  }

  private acquire(registry: string): Promise<void> {
    const busy = this.inFlight.get(registry) ?? 0;
    if (busy < this.limit) {
      this.inFlight.set(registry, busy + 1);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.queues.get(registry) ?? [];
      queue.push(() => {
        this.inFlight.set(registry, (this.inFlight.get(registry) ?? 0) + 1);
        resolve();
      });
      this.queues.set(registry, queue);
    });
  }

  private release(registry: string): void {
    this.inFlight.set(registry, (this.inFlight.get(registry) ?? 1) - 1);
    this.queues.get(registry)?.shift()?.();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // Cancelled before the wait began: an abort listener added now would never fire.
    if (signal?.aborted) return reject(signal.reason ?? new Error('cancelled'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason ?? new Error('cancelled'));
    }, { once: true });
  });
}
