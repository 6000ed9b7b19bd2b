// An incident about something other than one release of ours: a dependency compromise or a
// compromised build (which of our releases it reaches: the blast radius, then the compromise's one
// playbook incident for all of them; before the playbook, one containment per package of ours), a
// range-only alert or a vulnerability on our own package, a leaked token, a withdrawn alert. It writes
// nothing to a registry itself; containment runs in its own incident.
//
// It acts on every live malware or build report that arrived since its last decision, whatever else
// came in the same batch, and its state stays bounded (counts and the latest reports) however many
// reports arrive and however many times it continues as new.
import { ActivityFailure, ApplicationFailure, condition, continueAsNew, defineQuery, log, patched, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { IncidentActivities } from '../activities/incidents';
import type { ReleaseIndexActivities } from '../activities/release-index';
import type { AffectedReason, AffectedRelease, BlastRadius } from '../core/blast-radius';
import type { Report } from '../core/incident';
import type { HeldContainment, WatchKind, WatchRequest } from '../core/intake';
import { reportAuthorizesWrites } from '../core/write-authority';
import { closeSignal, reportSignal } from './definitions';
import { watchIncidentWorkflowV1 } from './legacy/watch-incident-v1';
import { durationText, historyIsLong, INCIDENT_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS, requestedDuration } from './lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from './search-attributes';

export interface WatchView {
  incident: string;
  kind: WatchKind;
  subject: string;
  status: 'open' | 'closed';
  /** The latest reports (at most MAX_REPORTS_SHOWN), oldest first; reportCount counts them all. */
  reports: Report[];
  /** Every report taken, listed or not (absent in views of incidents started before it was kept). */
  reportCount?: number;
  startedAt: string;
  closedAt?: string;
  closeReason?: string;
  /**
   * dependency and compromised-build: which of our releases the alert reaches, as last assessed: the
   * first MAX_RELEASES_SHOWN releases; affectedReleases counts them all.
   */
  blastRadius?: BlastRadius;
  affectedReleases?: number;
  /** When the blast radius was last assessed, or why it could not be. */
  assessedAt?: string;
  assessmentError?: string;
  /** The containment incidents this one opened (or joined). */
  containments?: string[];
  /** Packages of ours the blast radius reaches that were left for a person, and why. */
  held?: HeldContainment[];
  /** Reports taken since the last assessment: they are assessed, in this run or the next. */
  unassessed?: number;
  /** The latest live malware or build report not yet acted on. */
  actOn?: Report;
  /** Ids of the latest reports taken, listed or not: a resent report is taken once. */
  recentReportIds?: string[];
  /** When the latest report arrived: the incident closes its idle timeout (default 7 days) after it. */
  lastReportAt?: string;
}

export const watchQuery = defineQuery<WatchView>('watch');

/** Selects this code over workflows/legacy/watch-incident-v1.ts; incidents started before it replay through that. */
export const WATCH_INCIDENT_V2 = 'watch-incident-v2';

const MAX_REPORTS_SHOWN = 20;
const MAX_REPORT_IDS_KEPT = 1_000;
const MAX_RELEASES_SHOWN = 50;
const MAX_REASONS_SHOWN = 3;
const MAX_WARNINGS_SHOWN = 20;
const MAX_CONTAINMENTS_SHOWN = 200;
const MAX_HELD_SHOWN = 20;
const MAX_EVIDENCE_SHOWN = 3;
const MAX_ALIASES_SHOWN = 10;
const MAX_PATH_SHOWN = 8;
const MAX_QUERY_CHARS = 1_000;

const NEXT_STEP: Record<WatchKind, string> = {
  review: 'recorded for a person, never contained automatically (a range, or a vulnerability): confirm the releases and run `quarantine <name>@<version>` if they are compromised',
  dependency: 'a dependency of ours: the releases of ours that contain it are contained if it is malware',
  'compromised-build': 'a compromised build: the releases of ours it built are contained',
  'leaked-token': 'revoke the token (a gated step: revocation can trigger a dead-man switch)',
  withdrawn: 'the source withdrew or dismissed it: check whether an earlier containment should be rolled back',
};

const index = proxyActivities<ReleaseIndexActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
// A sync reads every release's attestations that the index lacks: it can take long on a big fleet,
// and says it is alive by heartbeats, so a stuck attempt is retried within a minute.
const provenance = proxyActivities<Pick<ReleaseIndexActivities, 'syncProvenance'>>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 5 },
});
const incidents = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const REASSESS_AFTER_MS = 60_000;
/** After a failed assessment with a report still to act on, or a failed provenance sync, try again this much later. */
const RETRY_ASSESSMENT_AFTER_MS = 5 * 60_000;

function statusOf(view: WatchView): string {
  const radius = view.blastRadius;
  const held = view.held?.length ? `; ${view.held.length} package(s) held for a person: ${view.held.map((h) => h.reason).join('; ')}` : '';
  if (view.assessmentError) return `blast radius unknown: ${view.assessmentError}`;
  if (!radius) return `${view.kind}: ${NEXT_STEP[view.kind]}`;
  if (radius.overBroad) return `over-broad, a human decides: ${radius.overBroad}`;
  if (radius.indexedReleases === 0) return 'the release index is empty: ingest SBOMs (quarantine sbom ingest) and provenance';
  const affected = view.affectedReleases ?? radius.releases.length;
  if (affected === 0) return `none of our ${radius.indexedReleases} indexed releases is affected`;
  const contained = view.containments?.length ?? 0;
  const acted = contained > 0 ? `, ${contained} containment incident(s) opened` : held ? '' : ': recorded, not contained (not malware)';
  return `${affected} of our releases affected${acted}${held}`;
}

/** The blast radius as the view keeps it: what a person reads, bounded whatever the answer's size. */
function shownRadius(radius: BlastRadius): BlastRadius {
  const path = (p: string[]): string[] => (p.length <= MAX_PATH_SHOWN ? p : [...p.slice(0, MAX_PATH_SHOWN / 2), '…', ...p.slice(-MAX_PATH_SHOWN / 2)]);
  const reason = (r: AffectedReason): AffectedReason => (r.kind === 'component' ? { ...r, path: path(r.path) } : r);
  const release = (r: AffectedRelease): AffectedRelease => ({ ...r, reasons: r.reasons.slice(0, MAX_REASONS_SHOWN).map(reason) });
  return {
    ...radius,
    query: radius.query.length <= MAX_QUERY_CHARS ? radius.query : `${radius.query.slice(0, MAX_QUERY_CHARS - 1)}…`,
    releases: radius.releases.slice(0, MAX_RELEASES_SHOWN).map(release),
    warnings: radius.warnings.slice(0, MAX_WARNINGS_SHOWN),
    ...(radius.wholePackages ? { wholePackages: radius.wholePackages.slice(0, MAX_HELD_SHOWN) } : {}),
  };
}

/** A report as the view lists it: its ids and first links (a generic alert may carry 100 links of 2,000 characters). */
function shownReport(report: Report): Report {
  const alert = report.alert;
  if (!alert || (alert.evidence.length <= MAX_EVIDENCE_SHOWN && alert.aliases.length <= MAX_ALIASES_SHOWN)) return report;
  return { ...report, alert: { ...alert, evidence: alert.evidence.slice(0, MAX_EVIDENCE_SHOWN), aliases: alert.aliases.slice(0, MAX_ALIASES_SHOWN) } };
}

const mayWrite = (report: Report): boolean => report.alert !== undefined && reportAuthorizesWrites(report);

/**
 * A view carried over from a run of the v1 code: it kept every report, and on continue-as-new it
 * counted all of them as assessed. If it never opened a containment, its latest live malware or
 * build report is acted on now (a containment already opened takes a report again only once).
 */
function fromV1(view: WatchView, now: string): WatchView {
  if (view.reportCount !== undefined) return view;
  const actOn = view.containments?.length ? undefined : [...view.reports].reverse().find(mayWrite);
  return {
    ...view,
    lastReportAt: now,
    reports: view.reports.slice(-MAX_REPORTS_SHOWN).map(shownReport),
    reportCount: view.reports.length,
    recentReportIds: view.reports.slice(-MAX_REPORT_IDS_KEPT).map((r) => r.reportId),
    ...(view.blastRadius ? { blastRadius: shownRadius(view.blastRadius), affectedReleases: view.blastRadius.releases.length } : {}),
    ...(actOn ? { actOn } : {}),
    // Never assessed, or a report still to act on: the new run assesses first.
    ...(actOn || view.assessedAt === undefined ? { unassessed: 1 } : {}),
  };
}

export async function watchIncidentWorkflow(request: WatchRequest & { resume?: WatchView }): Promise<WatchView> {
  if (!patched(WATCH_INCIDENT_V2)) return watchIncidentWorkflowV1(request);
  const idleTimeoutMs = requestedDuration(request.idleTimeoutMs, INCIDENT_IDLE_TIMEOUT_MS, MIN_IDLE_TIMEOUT_MS);
  const started = new Date(Date.now()).toISOString();
  const view: WatchView = request.resume
    ? fromV1(request.resume, started)
    : { incident: request.incident, kind: request.kind, subject: request.subject, status: 'open', reports: [], reportCount: 0, startedAt: started, lastReportAt: started };
  const recent = view.recentReportIds ?? [];
  const seen = new Set(recent);
  let closeReason: string | undefined;

  const take = (report: Report): void => {
    if (seen.has(report.reportId)) return;
    seen.add(report.reportId);
    recent.push(report.reportId);
    if (recent.length > MAX_REPORT_IDS_KEPT) seen.delete(recent.shift()!);
    view.recentReportIds = recent;
    view.reports.push(shownReport(report));
    if (view.reports.length > MAX_REPORTS_SHOWN) view.reports.shift();
    view.reportCount = (view.reportCount ?? 0) + 1;
    view.unassessed = (view.unassessed ?? 0) + 1;
    view.lastReportAt = new Date(Date.now()).toISOString();
    // Any live malware or build report of a batch is acted on, whatever follows it in the batch.
    if (mayWrite(report)) view.actOn = report;
  };
  setHandler(watchQuery, () => view);
  setHandler(reportSignal, (reports: Report[]) => reports.forEach(take));
  setHandler(closeSignal, (reason: string) => {
    closeReason = reason;
  });
  if (!request.resume) {
    upsertSearchAttributes([
      { key: INCIDENT_PACKAGE, value: request.subject.slice(0, 200) },
      { key: INCIDENT_STATUS, value: `${request.kind}: ${NEXT_STEP[request.kind]}`.slice(0, 200) },
    ]);
    take(request.report);
  }

  // A report carried over continue-as-new that is still to be acted on (its assessment failed) is
  // acted on now, not only when another report arrives.
  if (view.actOn) view.unassessed = Math.max(view.unassessed ?? 0, 1);

  const assesses = request.affected !== undefined || request.build !== undefined;
  // Review incidents are about our own package by range, or a vulnerability: a person decides. A
  // withdrawn incident records. Only a dependency or a build compromise contains from its radius.
  const contains = request.kind === 'dependency' || request.kind === 'compromised-build';
  // The full answer of this run's last assessment: the view keeps only part of it, and a containment
  // must be opened from all of it. Not carried over: a new run asks the index again.
  let lastRadius: BlastRadius | undefined;
  let actedOn: BlastRadius | undefined;
  let retryAssessment = false;

  // A later report re-asks the index (it may have learnt new releases since) once the last answer is
  // older than REASSESS_AFTER_MS, or failed; a storm of reports of one compromise asks it once.
  const assess = async (): Promise<void> => {
    const actOn = view.actOn;
    view.unassessed = 0;
    view.actOn = undefined;
    retryAssessment = false;
    const last = view.assessedAt === undefined ? undefined : Date.parse(view.assessedAt);
    const fresh = lastRadius !== undefined && view.assessmentError === undefined && last !== undefined && Date.now() - last < REASSESS_AFTER_MS;
    try {
      let radius = fresh ? lastRadius : undefined;
      if (!radius && request.affected) radius = await index.findReleasesContaining(request.affected);
      if (!radius) {
        // The build query judges releases by their provenance: bring in what the registry has
        // published since the last sync first. A failed sync still answers from what the index has,
        // says so, and tries again later.
        let syncFailure: string | undefined;
        let syncMayWork = true;
        try {
          await provenance.syncProvenance({ names: [] });
        } catch (error) {
          syncFailure = messageOf(error);
          // A worker that reads no registry, say, fails the same way every time: retried only by a new report.
          syncMayWork = !(error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.nonRetryable);
          log.warn('provenance sync failed', { error: syncFailure });
        }
        radius = await index.findReleasesBuiltBy(request.build ?? {});
        if (syncFailure !== undefined) {
          radius = { ...radius, warnings: [`provenance sync failed, releases published since the last sync are not judged: ${syncFailure}`, ...radius.warnings] };
          // The retry acts again on what the sync brings in; containments already opened ignore a report they have.
          retryAssessment = syncMayWork;
          if (actOn && syncMayWork) view.actOn ??= actOn;
        }
      }
      lastRadius = radius;
      view.blastRadius = shownRadius(radius);
      view.affectedReleases = radius.releases.length;
      view.assessmentError = undefined;
      // Only a live malware or build report on a radius that is not over-broad opens anything;
      // containments already opened from this same answer have their report.
      if (actOn && contains && request.registry && radius.releases.length > 0 && !radius.overBroad && actedOn !== radius) {
        const { opened, held } = await incidents.containBlastRadius({ radius, registry: request.registry, report: actOn });
        actedOn = radius;
        view.containments = [...new Set([...(view.containments ?? []), ...opened])].slice(0, MAX_CONTAINMENTS_SHOWN);
        const heldNames = new Set(held.map((h) => h.name));
        view.held = [...(view.held ?? []).filter((h) => !heldNames.has(h.name)), ...held].slice(-MAX_HELD_SHOWN);
      }
      if (fresh) return;
    } catch (error) {
      view.assessmentError = messageOf(error);
      // The report is still to be acted on: the next assessment (a later report, or the retry) does.
      if (actOn && view.actOn === undefined) view.actOn = actOn;
      retryAssessment = view.actOn !== undefined;
      log.warn('blast radius assessment failed', { error: view.assessmentError });
    }
    view.assessedAt = new Date(Date.now()).toISOString();
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: statusOf(view).slice(0, 200) }]);
  };

  const wantsAssessment = (): boolean => assesses && (view.unassessed ?? 0) > 0;
  while (closeReason === undefined) {
    // The first report only starts an incident: a new run needs the view, not the report in full.
    if (historyIsLong()) await continueAsNew<typeof watchIncidentWorkflow>({ ...request, report: shownReport(request.report), resume: view });
    if (wantsAssessment()) {
      await assess();
      continue;
    }
    const idleLeft = Date.parse(view.lastReportAt ?? view.startedAt) + idleTimeoutMs - Date.now();
    if (idleLeft <= 0) {
      closeReason = `no new report for ${durationText(idleTimeoutMs)}`;
      break;
    }
    const retrying = retryAssessment && assesses;
    const woke = await condition(() => closeReason !== undefined || historyIsLong() || wantsAssessment(), retrying ? Math.min(RETRY_ASSESSMENT_AFTER_MS, idleLeft) : idleLeft);
    if (!woke && retrying) view.unassessed = Math.max(view.unassessed ?? 0, 1);
  }
  view.status = 'closed';
  view.closeReason = closeReason;
  view.closedAt = new Date(Date.now()).toISOString();
  upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'closed' }]);
  return view;
}

function messageOf(error: unknown): string {
  // An ActivityFailure's own message is generic; its cause says what went wrong.
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
  return cause instanceof Error ? cause.message : String(cause);
}
