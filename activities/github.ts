// The playbook's GitHub activities: the incident's draft advisory, the publish workflow, its runs in
// flight, the Actions caches, the tracking issue; and the read-back of each. One external system:
// GitHub's REST API (clients/github.ts). Every action reads first and writes only what differs, so a
// retried or replayed activity never writes twice; the incident's advisory and issue are found again by
// the marker in their text. Failures leave as ApplicationFailures of a closed set of types: a missing
// right is "needs a person" naming the permission, never retried; 5xx and network failures are retried
// by octokit, then by Temporal. No credential is in any input, output, message or log line.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createGithubClient, githubMessage, isHttpError, type GithubClient, type GithubOctokit, type GithubSettings } from '../clients/github';
import {
  describeGithubAction,
  permissionFor,
  repositoryName,
  type AdvisoryDraft,
  type AdvisorySnapshot,
  type AnyGithubAction,
  type CacheScope,
  type GithubFacts,
  type RepositoryRef,
} from '../core/github/action';
import type { ActionOutcome } from '../core/playbook/action';
import type { GithubActivities } from '../core/github/ports';

/** Run statuses GitHub reports for a run that has not finished. */
const IN_FLIGHT = ['queued', 'in_progress', 'waiting', 'pending', 'requested'] as const;
/** Bounds a purge that keeps finding caches (a job still saving them): the read-back then says so. */
const MAX_PURGE_ROUNDS = 20;
/** Caches named in the before-image (the rollback lists them as not restorable); the count is complete. */
const LISTED_CACHES = 50;

function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}

function heartbeat(details?: unknown): void {
  activityContext()?.heartbeat(details);
}

async function sleep(ms: number): Promise<void> {
  const context = activityContext();
  if (context) await context.sleep(ms);
  else await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sorts what GitHub (or the way to it) answered into the failure types the workflow tells apart. */
export function githubFailure(err: unknown, action: AnyGithubAction): Error {
  const what = describeGithubAction(action);
  const repo = repositoryName(action.repository);
  if (err instanceof ApplicationFailure) return err;
  if (!isHttpError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    return ApplicationFailure.create({ message: `${what}: GitHub could not be reached (${message.slice(0, 200)})`, type: 'GithubUnavailable' });
  }
  const said = githubMessage(err);
  const status = err.status;
  const rateLimited = status === 429 || (status === 403 && (err.response?.headers?.['x-ratelimit-remaining'] === '0' || /rate limit/i.test(said)));
  if (rateLimited) {
    const retryAfter = Number(err.response?.headers?.['retry-after']);
    return ApplicationFailure.create({ message: `${what}: GitHub's rate limit (${said})`, type: 'GithubRateLimited', ...(retryAfter > 0 ? { nextRetryDelay: retryAfter * 1000 } : {}) });
  }
  if (status === 401) {
    return ApplicationFailure.create({ message: `needs a person: ${what}: GitHub refused the worker's credential (401: ${said}); renew GITHUB_TOKEN or the App's key`, type: 'GithubNeedsPerson', nonRetryable: true });
  }
  if (status === 403 || status === 404) {
    const hidden = status === 404 ? ', or the repository or workflow is not there or not visible to it' : '';
    return ApplicationFailure.create({
      message: `needs a person: ${what}: GitHub answered ${status} (${said}); the worker's GitHub credential needs ${permissionFor(action.kind)} on ${repo}${hidden}`,
      type: 'GithubNeedsPerson',
      nonRetryable: true,
    });
  }
  if (status >= 500) return ApplicationFailure.create({ message: `${what}: GitHub answered ${status} (${said})`, type: 'GithubUnavailable' });
  return ApplicationFailure.create({ message: `${what}: GitHub refused it (${status}: ${said})`, type: 'GithubRejected', nonRetryable: true });
}

interface AdvisoryData {
  ghsa_id: string;
  state: string;
  summary: string;
  description: string | null;
  severity: string | null;
  cwe_ids: string[] | null;
  html_url: string;
  vulnerabilities: { package: { name: string | null } | null; vulnerable_version_range: string | null; patched_versions: string | null }[] | null;
}

function snapshot(advisory: AdvisoryData): AdvisorySnapshot {
  return {
    ghsa_id: advisory.ghsa_id,
    state: advisory.state,
    severity: advisory.severity,
    cwe_ids: [...(advisory.cwe_ids ?? [])].sort(),
    vulnerabilities: (advisory.vulnerabilities ?? []).map((v) => ({ package: v.package?.name ?? null, vulnerable_version_range: v.vulnerable_version_range, patched_versions: v.patched_versions })),
    html_url: advisory.html_url,
  };
}

async function findAdvisory(octokit: GithubOctokit, repository: RepositoryRef, marker: string): Promise<AdvisoryData | undefined> {
  const all = (await octokit.paginate(octokit.rest.securityAdvisories.listRepositoryAdvisories, { ...repository, per_page: 100 })) as AdvisoryData[];
  // Ours by the marker; the newest if a person copied it into another.
  return all.filter((a) => (a.description ?? '').includes(marker)).sort((a, b) => (a.ghsa_id < b.ghsa_id ? -1 : 1))[0];
}

/** The fields of `draft` the advisory does not already carry, for one PATCH. */
function advisoryChanges(current: AdvisoryData, draft: AdvisoryDraft): Partial<AdvisoryDraft> {
  const changes: Partial<AdvisoryDraft> = {};
  if (current.summary !== draft.summary) changes.summary = draft.summary;
  if ((current.description ?? '') !== draft.description) changes.description = draft.description;
  if (current.severity !== draft.severity) changes.severity = draft.severity;
  if (JSON.stringify([...(current.cwe_ids ?? [])].sort()) !== JSON.stringify([...draft.cwe_ids].sort())) changes.cwe_ids = draft.cwe_ids;
  const key = (v: { package: { name: string | null } | null; vulnerable_version_range: string | null; patched_versions: string | null }) => `${v.package?.name} ${v.vulnerable_version_range} ${v.patched_versions ?? ''}`;
  if (JSON.stringify((current.vulnerabilities ?? []).map(key).sort()) !== JSON.stringify(draft.vulnerabilities.map(key).sort())) changes.vulnerabilities = draft.vulnerabilities;
  return changes;
}

async function workflowState(octokit: GithubOctokit, repository: RepositoryRef, workflow: string): Promise<string> {
  return (await octokit.rest.actions.getWorkflow({ ...repository, workflow_id: workflow })).data.state;
}

async function runsInFlight(octokit: GithubOctokit, repository: RepositoryRef, workflow: string): Promise<number[]> {
  const ids: number[] = [];
  for (const status of IN_FLIGHT) {
    const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, { ...repository, workflow_id: workflow, status, per_page: 100 });
    ids.push(...runs.map((r) => r.id));
  }
  return [...new Set(ids)];
}

async function cachesInScope(octokit: GithubOctokit, repository: RepositoryRef, scope: CacheScope): Promise<{ id: number; key: string; ref: string }[]> {
  const caches = await octokit.paginate(octokit.rest.actions.getActionsCacheList, { ...repository, per_page: 100, ...(scope.keyPrefix ? { key: scope.keyPrefix } : {}) });
  // GitHub matches `key` as a prefix itself; its `ref` filter is exact, so a ref prefix is ours to apply.
  return caches
    .filter((c) => c.id !== undefined && (!scope.refPrefix || (c.ref ?? '').startsWith(scope.refPrefix)))
    .map((c) => ({ id: c.id!, key: c.key ?? '', ref: c.ref ?? '' }));
}

async function findIssue(octokit: GithubOctokit, repository: RepositoryRef, marker: string, labels: string[]): Promise<{ number: number; html_url: string } | undefined> {
  const issues = await octokit.paginate(octokit.rest.issues.listForRepo, { ...repository, state: 'all', per_page: 100, ...(labels.length > 0 ? { labels: labels.join(',') } : {}) });
  const found = issues.filter((i) => (i.body ?? '').includes(marker)).sort((a, b) => a.number - b.number)[0];
  return found ? { number: found.number, html_url: found.html_url } : undefined;
}

/** A 409 answers a cancel of a run that finished meanwhile: what the cancel wanted. */
async function ignoringFinished(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (isHttpError(err) && err.status === 409) return false;
    throw err;
  }
}

async function run(octokit: GithubOctokit, action: AnyGithubAction): Promise<ActionOutcome> {
  const repository = action.repository;
  switch (action.kind) {
    case 'draft-advisory': {
      const existing = await findAdvisory(octokit, repository, action.marker);
      if (!existing) {
        const created = (await octokit.rest.securityAdvisories.createRepositoryAdvisory({ ...repository, ...action.advisory })).data as AdvisoryData;
        return { changed: true, before: null, after: snapshot(created) };
      }
      // A published advisory is a person's: the incident no longer rewrites it.
      if (existing.state === 'published') return { changed: false, before: snapshot(existing), after: snapshot(existing) };
      const changes = advisoryChanges(existing, action.advisory);
      const reopen = existing.state !== 'draft';
      if (Object.keys(changes).length === 0 && !reopen) return { changed: false, before: snapshot(existing), after: snapshot(existing) };
      const updated = (await octokit.rest.securityAdvisories.updateRepositoryAdvisory({ ...repository, ghsa_id: existing.ghsa_id, ...changes, ...(reopen ? { state: 'draft' as const } : {}) })).data as AdvisoryData;
      return { changed: true, before: snapshot(existing), after: snapshot(updated) };
    }
    case 'publish-advisory':
    case 'close-advisory': {
      const existing = await findAdvisory(octokit, repository, action.marker);
      const target = action.kind === 'publish-advisory' ? 'published' : 'closed';
      if (!existing) {
        if (action.kind === 'close-advisory') return { changed: false, before: null, after: null };
        throw ApplicationFailure.create({ message: `${describeGithubAction(action)}: the incident has no advisory in ${repositoryName(repository)} to publish`, type: 'GithubConflict', nonRetryable: true });
      }
      if (existing.state === target) return { changed: false, before: snapshot(existing), after: snapshot(existing) };
      if (existing.state === 'published') {
        throw ApplicationFailure.create({ message: `${describeGithubAction(action)}: ${existing.ghsa_id} is published; GitHub's API cannot close it (withdraw it on GitHub)`, type: 'GithubConflict', nonRetryable: true });
      }
      const updated = (await octokit.rest.securityAdvisories.updateRepositoryAdvisory({ ...repository, ghsa_id: existing.ghsa_id, state: target })).data as AdvisoryData;
      return { changed: true, before: snapshot(existing), after: snapshot(updated) };
    }
    case 'disable-workflow':
    case 'enable-workflow': {
      const before = await workflowState(octokit, repository, action.workflow);
      const disabling = action.kind === 'disable-workflow';
      if (disabling ? before.startsWith('disabled') : before === 'active') return { changed: false, before: { state: before }, after: { state: before } };
      if (disabling) await octokit.rest.actions.disableWorkflow({ ...repository, workflow_id: action.workflow });
      else await octokit.rest.actions.enableWorkflow({ ...repository, workflow_id: action.workflow });
      return { changed: true, before: { state: before }, after: { state: await workflowState(octokit, repository, action.workflow) } };
    }
    case 'cancel-runs': {
      const inFlight = await runsInFlight(octokit, repository, action.workflow);
      const cancelled: number[] = [];
      for (const id of inFlight) if (await ignoringFinished(() => octokit.rest.actions.cancelWorkflowRun({ ...repository, run_id: id }))) cancelled.push(id);
      // A run mid-step may take a while to stop; one still going after the grace period is force-cancelled.
      const deadline = Date.now() + action.graceSeconds * 1000;
      let left = inFlight.length > 0 ? await runsInFlight(octokit, repository, action.workflow) : [];
      while (left.length > 0 && Date.now() < deadline) {
        heartbeat({ waitingFor: left.length });
        await sleep(Math.min(1_000, Math.max(0, deadline - Date.now())));
        left = await runsInFlight(octokit, repository, action.workflow);
      }
      const forced: number[] = [];
      for (const id of left) if (await ignoringFinished(() => octokit.rest.actions.forceCancelWorkflowRun({ ...repository, run_id: id }))) forced.push(id);
      return { changed: inFlight.length > 0, before: { inFlight }, after: { cancelled, forceCancelled: forced } };
    }
    case 'purge-caches': {
      const first = await cachesInScope(octokit, repository, action.scope);
      let found = first;
      let deleted = 0;
      for (let round = 0; found.length > 0 && round < MAX_PURGE_ROUNDS; round += 1) {
        for (const cache of found) {
          try {
            await octokit.rest.actions.deleteActionsCacheById({ ...repository, cache_id: cache.id });
            deleted += 1;
          } catch (err) {
            // Gone already (another purge, or it expired): what the purge wanted.
            if (!(isHttpError(err) && err.status === 404)) throw err;
          }
          heartbeat({ deleted });
        }
        found = await cachesInScope(octokit, repository, action.scope);
      }
      return {
        changed: deleted > 0,
        before: { count: first.length, caches: first.slice(0, LISTED_CACHES).map(({ key, ref }) => ({ key, ref })) },
        after: { deleted, remaining: found.length },
      };
    }
    case 'tracking-issue': {
      const existing = await findIssue(octokit, repository, action.marker, action.labels);
      if (existing) return { changed: false, before: existing, after: existing };
      const created = (await octokit.rest.issues.create({ ...repository, title: action.title, body: action.body, labels: action.labels })).data;
      return { changed: true, before: null, after: { number: created.number, html_url: created.html_url } };
    }
  }
}

async function facts(octokit: GithubOctokit, action: AnyGithubAction): Promise<GithubFacts> {
  const repository = action.repository;
  switch (action.kind) {
    case 'draft-advisory':
    case 'publish-advisory':
    case 'close-advisory': {
      const found = await findAdvisory(octokit, repository, action.marker);
      return { kind: 'advisory', advisory: found ? snapshot(found) : null };
    }
    case 'disable-workflow':
    case 'enable-workflow':
      return { kind: 'workflow', state: await workflowState(octokit, repository, action.workflow) };
    case 'cancel-runs':
      return { kind: 'runs', inFlight: await runsInFlight(octokit, repository, action.workflow) };
    case 'purge-caches':
      return { kind: 'caches', remaining: (await cachesInScope(octokit, repository, action.scope)).length };
    case 'tracking-issue':
      return { kind: 'issue', number: (await findIssue(octokit, repository, action.marker, action.labels))?.number ?? null };
  }
}

export function createGithubActivities(settings: GithubSettings, client: GithubClient = createGithubClient(settings)): GithubActivities {
  async function withRepository<T>(action: AnyGithubAction, work: (octokit: GithubOctokit) => Promise<T>): Promise<T> {
    const beat = activityContext() ? setInterval(() => heartbeat(), 1_000) : undefined;
    try {
      return await work(await client.forRepository(action.repository.owner, action.repository.repo));
    } catch (err) {
      throw githubFailure(err, action);
    } finally {
      if (beat) clearInterval(beat);
    }
  }
  return {
    runGithubAction: (action) => withRepository(action, (octokit) => run(octokit, action)),
    readGithubFacts: (action) => withRepository(action, (octokit) => facts(octokit, action)),
  };
}
