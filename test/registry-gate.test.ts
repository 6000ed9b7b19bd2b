// The worker's per-registry gate (activities/registry-gate.ts): at most N requests in flight to one
// registry, and once a registry answers 429 with retry-after, no activity calls it before then, while
// other registries go on.
import { RegistryGate } from '../activities/registry-gate';
import { RegistryError } from '../clients/npm/errors';

const A = 'https://a.example/';
const B = 'https://b.example/';

describe('RegistryGate', () => {
  it('keeps at most the limit in flight per registry, and another registry is not held by it', async () => {
    const gate = new RegistryGate(2);
    let inFlight = 0;
    let most = 0;
    const call = async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
    };
    const startedB: number[] = [];
    const t0 = Date.now();
    await Promise.all([
      ...Array.from({ length: 6 }, () => gate.run(A, call)),
      gate.run(B, async () => void startedB.push(Date.now() - t0)),
    ]);
    expect(most).toBe(2);
    // B did not wait behind A's queue.
    expect(startedB[0]).toBeLessThan(15);
  });

  it('holds every later call to a registry until its retry-after has passed, and only that registry', async () => {
    const gate = new RegistryGate(8);
    await expect(gate.run(A, async () => Promise.reject(new RegistryError('RATE_LIMITED', 'slow down', 429, 300)))).rejects.toThrow('slow down');
    expect(gate.waitingUntil(A)).toBeGreaterThan(Date.now());
    const t0 = Date.now();
    const [waitedA, waitedB] = await Promise.all([gate.run(A, async () => Date.now() - t0), gate.run(B, async () => Date.now() - t0)]);
    expect(waitedA).toBeGreaterThanOrEqual(250);
    expect(waitedB).toBeLessThan(100);
    expect(gate.waitingUntil(A)).toBeUndefined();
  });

  it('a cancelled activity stops waiting for the retry-after', async () => {
    const gate = new RegistryGate(8);
    await gate.run(A, async () => Promise.reject(new RegistryError('RATE_LIMITED', 'slow down', 429, 60_000))).catch(() => undefined);
    const controller = new AbortController();
    const waiting = gate.run(A, async () => 'ran', controller.signal);
    controller.abort(new Error('activity cancelled'));
    await expect(waiting).rejects.toThrow('activity cancelled');
  });
});
