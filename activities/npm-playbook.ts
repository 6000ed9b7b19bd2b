// The playbook's npm activities: read what the planner needs of a package, and run one action. Each
// action reads the target first and writes only what differs, so a retried or replayed activity never
// writes twice. Calls go through the worker's per-registry gate (bounded concurrency, retry-after
// honoured by every activity); failures leave as ApplicationFailures of a closed set of types.
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  createTrustedPublisher,
  lastWeekDownloads,
  listTokens,
  listStagedPublishes,
  listTrustedPublishers,
  moveDistTag,
  readAccessSettings,
  readPackument,
  rejectStagedPublish,
  requirePublish2fa,
  revokeToken,
  revokeTrustedPublisher,
  RegistryError,
  setDeprecations,
  setPublishAccess,
  standinDependentsCount,
  unpublishVersion,
  type NpmClientOptions,
  type WritablePackument,
} from '../clients/npm';
import { packageStateFromPackument } from '../core/package-state';
import type { ActionOutcome, PackageFacts, PlaybookAction } from '../core/playbook/action';
import { isFinalFailureType, isSealedSecret, type FactsBatchRequest, type FactsRequest, type PackageWriteOutcome, type PackageWrites, type PackageWritten, type PlaybookActivities, type SealedSecret } from '../core/playbook/ports';
import type { RegistryCredentials } from './registry';
import { OTP_HINT } from './registry';
import { RegistryGate } from './registry-gate';

export interface PlaybookActivityDeps {
  credentials: RegistryCredentials;
  /** Where last week's downloads are read (api.npmjs.org; the test stack's registry stands in for it). */
  downloadsApi?: string;
  /** Where dependents are counted: npmjs has no API for it, so only a stand-in; unset: unknown. */
  dependentsApi?: string;
  /** Requests in flight per registry, across every activity of this worker. */
  concurrencyPerRegistry?: number;
}

/** RegistryError codes -> the failure types the workflow tells apart (NON_RETRYABLE_PLAYBOOK_ERRORS). */
function toFailure(err: unknown, hasToken: boolean): Error {
  if (!(err instanceof RegistryError)) return err as Error;
  switch (err.code) {
    case 'OTP_REQUIRED':
      return ApplicationFailure.create({ message: `${err.message} (${OTP_HINT})`, type: 'RegistryOtpRequired', nonRetryable: true });
    case 'AUTH':
      return ApplicationFailure.create({
        message: `${err.message} (${hasToken ? 'the token lacks the rights' : 'the worker holds no token for this registry (NPM_TOKEN)'})`,
        type: 'RegistryAuthError',
        nonRetryable: true,
      });
    case 'NOT_FOUND':
      return ApplicationFailure.create({ message: err.message, type: 'PackageNotFound', nonRetryable: true });
    case 'REJECTED':
      return ApplicationFailure.create({ message: err.message, type: 'RegistryRejected', nonRetryable: true });
    case 'RATE_LIMITED':
      return ApplicationFailure.create({ message: err.message, type: 'RegistryRateLimited', nextRetryDelay: err.retryAfterMs ?? 5_000 });
    case 'CONFLICT':
      // A packument _rev that moved under our PUT: read again and write again.
      return ApplicationFailure.create({ message: err.message, type: 'RegistryConflict' });
    case 'UNAVAILABLE':
      return ApplicationFailure.create({ message: err.message, type: 'RegistryUnavailable' });
  }
}

export function createPlaybookActivities(deps: PlaybookActivityDeps): PlaybookActivities {
  const gate = new RegistryGate(deps.concurrencyPerRegistry ?? 8);

  /** One registry exchange under the gate, with the heartbeat going while it is in flight. */
  async function call<T>(registry: string, work: (opts: NpmClientOptions) => Promise<T>, otp?: SealedSecret): Promise<T> {
    const context = Context.current();
    // A beat as each request starts, and every second while it is in flight: a batch of short requests
    // (each under a second) runs longer than the heartbeat timeout too. The SDK throttles what it sends.
    context.heartbeat();
    const beat = setInterval(() => context.heartbeat(), 1_000);
    try {
      const token = deps.credentials.tokenFor(registry);
      const opts: NpmClientOptions = {
        registry,
        ...(token ? { token } : {}),
        ...(otp && isSealedSecret(otp) ? { otp: otp.value } : {}),
        signal: context.cancellationSignal,
      };
      return await gate.run(registry, () => work(opts), context.cancellationSignal);
    } catch (err) {
      throw toFailure(err, deps.credentials.tokenFor(registry) !== undefined);
    } finally {
      clearInterval(beat);
    }
  }

  /** A fact the planner may do without: a registry lacking the route, or refusing it, leaves it unknown. */
  async function optional<T>(registry: string, work: (opts: NpmClientOptions) => Promise<T>): Promise<T | undefined> {
    try {
      return await call(registry, work);
    } catch (err) {
      const type = (err as ApplicationFailure).type;
      if (type === 'PackageNotFound' || type === 'RegistryAuthError' || type === 'RegistryOtpRequired' || type === 'RegistryRejected') return undefined;
      throw err;
    }
  }

  async function readPackageFacts(request: FactsRequest): Promise<PackageFacts | null> {
    const { registry, name } = request;
    // All at once (each read is a round trip; only what the caller checks is read): a missing package
    // makes the others moot, whatever they answered.
    const [packumentRead, trustRead, stagedRead, accessRead] = await Promise.allSettled([
      call(registry, (opts) => readPackument(name, opts)),
      request.trust ? optional(registry, (opts) => listTrustedPublishers(name, opts)) : undefined,
      request.staged ? optional(registry, (opts) => listStagedPublishes(name, opts)) : undefined,
      request.access ? optional(registry, (opts) => readAccessSettings(name, opts)) : undefined,
    ]);
    if (packumentRead.status === 'rejected') {
      if ((packumentRead.reason as ApplicationFailure).type === 'PackageNotFound') return null;
      throw packumentRead.reason;
    }
    for (const read of [trustRead, stagedRead, accessRead]) if (read.status === 'rejected') throw read.reason;
    const settledValue = <T>(read: PromiseSettledResult<T>): T | undefined => (read.status === 'fulfilled' ? read.value : undefined);
    const packument = packumentRead.value;
    const trust = settledValue(trustRead);
    const staged = settledValue(stagedRead);
    const access = settledValue(accessRead);
    const time = (packument as { time?: Record<string, unknown> }).time ?? {};
    const facts: PackageFacts = {
      name,
      state: packageStateFromPackument(name, packument as Parameters<typeof packageStateFromPackument>[1]),
      published: Object.fromEntries(Object.entries(time).filter(([v, t]) => v in packument.versions && typeof t === 'string') as [string, string][]),
      maintainers: (packument.maintainers ?? []).map((m) => m.name),
    };
    if (trust) facts.trust = trust.map(({ id, type, claims }) => ({ id, type, claims }));
    if (staged) facts.staged = staged.map((s) => ({ id: s.id, version: s.version, ...(s.tag ? { tag: s.tag } : {}), ...(s.createdAt ? { createdAt: s.createdAt } : {}) }));
    if (access) facts.publishRequires2fa = access.publishRequires2fa;
    if (request.unpublish) {
      const downloadsApi = deps.downloadsApi;
      const dependentsApi = deps.dependentsApi;
      const [downloads, dependents] = await Promise.all([
        downloadsApi ? optional(registry, () => lastWeekDownloads(name, { baseUrl: downloadsApi })) : undefined,
        dependentsApi ? optional(registry, () => standinDependentsCount(name, { baseUrl: dependentsApi })) : undefined,
      ]);
      if (downloads) facts.downloadsLastWeek = downloads.downloads;
      if (dependents !== undefined) facts.dependents = dependents;
    }
    return facts;
  }

  async function readPackagesFacts(request: FactsBatchRequest): Promise<(PackageFacts | null)[]> {
    const { names, ...reads } = request;
    return Promise.all(names.map((name) => readPackageFacts({ ...reads, name })));
  }

  async function runNpmAction(action: PlaybookAction, otp?: SealedSecret): Promise<ActionOutcome> {
    return (await execute(action, otp)).outcome;
  }

  /**
   * Runs one action. `justRead`: the packument the previous action of the same batch read (and wrote) a
   * moment ago, which a tag move checks instead of reading again; a deprecation hands on the one it wrote.
   */
  async function execute(action: PlaybookAction, otp?: SealedSecret, justRead?: WritablePackument): Promise<{ outcome: ActionOutcome; packument?: WritablePackument }> {
    const registry = action.registry;
    switch (action.kind) {
      case 'deprecate': {
        const messages = Object.fromEntries(action.versions.map((v) => [v, action.message]));
        const result = await call(registry, (opts) => setDeprecations(action.package, messages, opts, (current) => current.includes(action.marker)));
        // Ours already: an earlier attempt wrote it and lost the answer. What was there before is what the plan read.
        const readBefore = action.readBefore;
        const before = readBefore ? Object.fromEntries(Object.entries(result.before).map(([v, current]) => [v, current.includes(action.marker) ? (readBefore[v] ?? '') : current])) : result.before;
        return { outcome: { changed: result.changed, before: { deprecated: before }, after: { deprecated: messages } }, packument: result.packument };
      }
      default:
        return { outcome: await executeOther(action, otp, justRead) };
    }
  }

  async function executeOther(action: Exclude<PlaybookAction, { kind: 'deprecate' }>, otp?: SealedSecret, justRead?: WritablePackument): Promise<ActionOutcome> {
    const registry = action.registry;
    switch (action.kind) {
      case 'restore-deprecations': {
        const result = await call(registry, (opts) => setDeprecations(action.package, action.messages, opts));
        return { changed: result.changed, before: { deprecated: result.before }, after: { deprecated: action.messages } };
      }
      case 'dist-tag': {
        const result = await call(registry, (opts) => moveDistTag(action.package, action.tag, action.from, action.to, opts, { refuseDeprecatedTarget: action.refuseDeprecatedTarget === true, ...(justRead ? { justRead } : {}) }));
        if ('conflict' in result && result.deprecatedTarget !== undefined) {
          throw ApplicationFailure.create({
            message: `${action.package}@${action.to} was deprecated since our read (by another incident or a person): ${action.tag} not moved onto it; planning again`,
            type: 'ActionConflict',
            nonRetryable: true,
          });
        }
        if ('conflict' in result) {
          throw ApplicationFailure.create({
            message: `${action.tag} of ${action.package} was moved by someone else since our read (expected ${action.from ?? '(absent)'}, found ${result.before ?? '(absent)'}): left alone`,
            type: 'ActionConflict',
            nonRetryable: true,
          });
        }
        return { changed: result.changed, before: { [action.tag]: result.before }, after: { [action.tag]: action.to } };
      }
      case 'unpublish': {
        const result = await call(registry, (opts) => unpublishVersion(action.package, action.version, opts), otp);
        return { changed: result.changed, before: { version: action.version, tagsRemoved: result.tagsRemoved }, after: { version: null, ...(result.latestMovedTo ? { latest: result.latestMovedTo } : {}) } };
      }
      case 'reject-staged': {
        const result = await call(registry, (opts) => rejectStagedPublish(action.stageId, opts), otp);
        return { changed: result.changed, before: result.before ?? null, after: null };
      }
      case 'revoke-trust': {
        const result = await call(registry, (opts) => revokeTrustedPublisher(action.package, action.trust.id, opts), otp);
        return { changed: result.changed, before: result.before ?? null, after: null };
      }
      case 'restore-trust': {
        const result = await call(registry, (opts) => createTrustedPublisher(action.package, action.trust, opts), otp);
        return { changed: result.changed, before: null, after: result.after };
      }
      case 'require-2fa': {
        const result = await call(registry, (opts) => requirePublish2fa(action.package, opts), otp);
        return { changed: result.changed, before: result.before, after: { publishRequires2fa: true, automationTokenOverrides2fa: false } };
      }
      case 'restore-publish-access': {
        const result = await call(registry, (opts) => setPublishAccess(action.package, action.settings, opts), otp);
        return { changed: result.changed, before: result.before, after: action.settings };
      }
      case 'revoke-token': {
        const result = await call(registry, (opts) => revokeToken(action.tokenKey, opts));
        return { changed: result.changed, before: result.before ? { key: result.before.key, created: result.before.created } : null, after: null };
      }
    }
  }

  async function listTokenKeys(registry: string): Promise<string[]> {
    return (await call(registry, (opts) => listTokens(opts))).map((t) => t.key);
  }

  /**
   * Runs a package writer's request in one activity: fewer round trips through Temporal than one
   * activity per action. A failure no retry can fix is that action's result and the next action runs; a
   * failure a retry may fix stops here, and the actions from there on are left to the caller, which
   * runs them one activity each with Temporal's retries. The outcomes already returned keep their
   * before-images: a retry of this whole activity would read them back as already done.
   */
  async function runNpmActions(actions: readonly PlaybookAction[], otp?: SealedSecret): Promise<PackageWriteOutcome[]> {
    const results: PackageWriteOutcome[] = [];
    // What the last deprecation of this batch read and wrote: a tag move of the same package right after
    // checks it instead of reading the packument again (a tag write changes the _rev, so it is used once).
    let justRead: { name: string; packument: WritablePackument } | undefined;
    for (const action of actions) {
      const reuse = action.kind === 'dist-tag' && justRead?.name === action.package ? justRead.packument : undefined;
      justRead = undefined;
      try {
        const done = await execute(action, action.otp ? otp : undefined, reuse);
        if (action.kind === 'deprecate' && done.packument) justRead = { name: action.package, packument: done.packument };
        results.push({ actionId: action.id, outcome: done.outcome });
      } catch (err) {
        if (!(err instanceof ApplicationFailure) || !isFinalFailureType(err.type)) break;
        results.push({ actionId: action.id, failure: { ...(err.type ? { type: err.type } : {}), message: err.message } });
      }
    }
    return results;
  }

  async function runPackageWrites(registry: string, write: PackageWrites, otp?: SealedSecret): Promise<PackageWritten> {
    const results = await runNpmActions(write.actions, otp);
    if (!write.readBack || results.length < write.actions.length) return { results };
    try {
      return { results, facts: await readPackageFacts({ registry, name: write.name, ...write.readBack, unpublish: false }) };
    } catch {
      // The writes stand and their results must reach the incident: it reads the package itself, with retries.
      return { results };
    }
  }

  async function runPackagesWrites(registry: string, writes: readonly PackageWrites[], otp?: SealedSecret): Promise<PackageWritten[]> {
    // Different packages (the writer sends each once): they share nothing but the registry gate.
    return Promise.all(writes.map((write) => runPackageWrites(registry, write, otp)));
  }

  return { readPackageFacts, readPackagesFacts, listTokenKeys, runNpmAction, runNpmActions, runPackageWrites, runPackagesWrites };
}
