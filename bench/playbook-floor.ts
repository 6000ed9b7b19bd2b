// The registry floor under the playbook bench: the requests the playbook's activities send for the same
// compromise, sent straight from this process with the same npm client and the same bound on requests
// in flight, with no Temporal in between. What the playbook takes beyond it is Temporal's share (and
// the worker's). The requests mirror the activities': keep them in step when those change.
import {
  listStagedPublishes,
  listTrustedPublishers,
  moveDistTag,
  readPackument,
  rejectStagedPublish,
  revokeTrustedPublisher,
  setDeprecations,
  type NpmClientOptions,
} from '../clients/npm';
import { REGISTRY_OTP, type LocalRegistry } from '../stack/registry';

export interface FloorPackage {
  name: string;
  good: string[];
  bad: string[];
}

/** At most `limit` calls in flight, like the worker's per-registry gate. */
function gate(limit: number): <T>(call: () => Promise<T>) => Promise<T> {
  let inFlight = 0;
  const queue: (() => void)[] = [];
  return async <T>(call: () => Promise<T>): Promise<T> => {
    if (inFlight >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    inFlight += 1;
    try {
      return await call();
    } finally {
      inFlight -= 1;
      queue.shift()?.();
    }
  };
}

async function eachPackage<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

export interface FloorResult {
  requests_to_contained: number;
  requests_approval_to_verified: number;
  to_contained_ms: number;
  approval_to_verified_ms: number;
}

/**
 * One pass as the playbook makes it: read and plan (packument, trusted publishers, staged publishes; the
 * bench's policy leaves 2FA alone), then per package the deprecation and the tag move checked on the
 * packument the deprecation read, and the read-back of the packument; then the approved revocations and
 * rejections, and their read-back (packument, trusted publishers, staged publishes).
 */
export async function registryFloor(registry: LocalRegistry, packages: readonly FloorPackage[], options: { concurrency: number; registryConcurrency: number }): Promise<FloorResult> {
  const opts: NpmClientOptions = { registry: registry.url, token: registry.tokens.admin };
  const otpOpts: NpmClientOptions = { ...opts, otp: REGISTRY_OTP };
  const call = gate(options.registryConcurrency);
  let requests = 0;
  const counted = <T>(n: number, work: () => Promise<T>) => {
    requests += n;
    return call(work);
  };
  const trustOf = new Map<string, string[]>();
  const stagedOf = new Map<string, string[]>();
  const read = async (name: string) => {
    await Promise.all([
      counted(1, () => readPackument(name, opts)),
      counted(1, () => listTrustedPublishers(name, opts)).then((list) => trustOf.set(name, list.map((t) => t.id))),
      counted(1, () => listStagedPublishes(name, opts)).then((list) => stagedOf.set(name, list.map((s) => s.id))),
    ]);
  };
  const started = performance.now();
  await eachPackage(packages, options.concurrency, (pkg) => read(pkg.name));
  await eachPackage(packages, options.concurrency, async (pkg) => {
    const deprecated = await counted(2, () => setDeprecations(pkg.name, Object.fromEntries(pkg.bad.map((v) => [v, 'SECURITY: bench floor'])), opts));
    await counted(1, () => moveDistTag(pkg.name, 'latest', pkg.bad.at(-1)!, pkg.good.at(-1)!, opts, { refuseDeprecatedTarget: true, justRead: deprecated.packument }));
    await counted(1, () => readPackument(pkg.name, opts));
  });
  const contained = performance.now() - started;
  const requestsToContained = requests;

  const approving = performance.now();
  await eachPackage(packages, options.concurrency, async (pkg) => {
    for (const id of trustOf.get(pkg.name) ?? []) await counted(2, () => revokeTrustedPublisher(pkg.name, id, otpOpts));
    for (const id of stagedOf.get(pkg.name) ?? []) await counted(2, () => rejectStagedPublish(id, otpOpts));
    await read(pkg.name);
  });
  return {
    requests_to_contained: requestsToContained,
    requests_approval_to_verified: requests - requestsToContained,
    to_contained_ms: Math.round(contained),
    approval_to_verified_ms: Math.round(performance.now() - approving),
  };
}
