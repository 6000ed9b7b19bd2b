// The watch incident as it ran before `patched('watch-incident-v2')`, kept verbatim: incidents started
// by it replay through it (their histories hold its commands), and it must not change. New runs,
// including the continue-as-new of an old one, take workflows/watch-incident.ts.
import { ActivityFailure, condition, continueAsNew, log, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { IncidentActivities } from '../../activities/incidents';
import type { ReleaseIndexActivities } from '../../activities/release-index';
import type { Report } from '../../core/incident';
import type { WatchKind, WatchRequest } from '../../core/intake';
import { closeSignal, reportSignal } from '../definitions';
import { historyIsLong, INCIDENT_IDLE_TIMEOUT } from '../lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from '../search-attributes';
import { watchQuery, type WatchView } from '../watch-incident';

const NEXT_STEP: Record<WatchKind, string> = {
  review: 'the alert gives ranges, not releases: confirm the releases and run `quarantine <name>@<version>`',
  dependency: 'a dependency of ours: the releases of ours that contain it are contained if it is malware',
  'compromised-build': 'a compromised build: the releases of ours it built are contained',
  'leaked-token': 'revoke the token (a gated step: revocation can trigger a dead-man switch)',
  withdrawn: 'the source withdrew or dismissed it: check whether an earlier containment should be rolled back',
};

const index = proxyActivities<ReleaseIndexActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});
const incidents = proxyActivities<IncidentActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

const REASSESS_AFTER_MS = 60_000;

function statusOf(view: WatchView): string {
  const radius = view.blastRadius;
  if (view.assessmentError) return `blast radius unknown: ${view.assessmentError}`;
  if (!radius) return `${view.kind}: ${NEXT_STEP[view.kind]}`;
  if (radius.overBroad) return `over-broad, a human decides: ${radius.overBroad}`;
  if (radius.indexedReleases === 0) return 'the release index is empty: ingest SBOMs (quarantine sbom ingest) and provenance';
  if (radius.releases.length === 0) return `none of our ${radius.indexedReleases} indexed releases is affected`;
  const contained = view.containments?.length ?? 0;
  return `${radius.releases.length} of our releases affected${contained > 0 ? `, ${contained} containment incident(s) opened` : ': recorded, not contained (not malware)'}`;
}

export async function watchIncidentWorkflowV1(request: WatchRequest & { resume?: WatchView }): Promise<WatchView> {
  const view: WatchView = request.resume ?? {
    incident: request.incident,
    kind: request.kind,
    subject: request.subject,
    status: 'open',
    reports: [],
    startedAt: new Date(Date.now()).toISOString(),
  };
  const seen = new Set(view.reports.map((r) => r.reportId));
  let closeReason: string | undefined;
  setHandler(watchQuery, () => view);
  setHandler(reportSignal, (reports: Report[]) => {
    for (const report of reports) {
      if (seen.has(report.reportId)) continue;
      seen.add(report.reportId);
      view.reports.push(report);
    }
  });
  setHandler(closeSignal, (reason: string) => {
    closeReason = reason;
  });
  if (!request.resume) {
    upsertSearchAttributes([
      { key: INCIDENT_PACKAGE, value: request.subject.slice(0, 200) },
      { key: INCIDENT_STATUS, value: `${request.kind}: ${NEXT_STEP[request.kind]}`.slice(0, 200) },
    ]);
    if (!seen.has(request.report.reportId)) {
      seen.add(request.report.reportId);
      view.reports.push(request.report);
    }
  }
  // A later report re-asks the index (it may have learnt new releases since) once the last answer is
  // older than REASSESS_AFTER_MS, or failed; a storm of reports of one compromise asks it once.
  let assessed = request.resume?.assessedAt === undefined ? 0 : view.reports.length;
  const assess = async (): Promise<void> => {
    if (!request.affected && !request.build) return;
    const report = view.reports[view.reports.length - 1] ?? request.report;
    assessed = view.reports.length;
    const last = view.assessedAt === undefined ? undefined : Date.parse(view.assessedAt);
    const fresh = view.blastRadius !== undefined && view.assessmentError === undefined && last !== undefined && Date.now() - last < REASSESS_AFTER_MS;
    try {
      const radius = fresh && view.blastRadius ? view.blastRadius : request.affected ? await index.findReleasesContaining(request.affected) : await index.findReleasesBuiltBy(request.build ?? {});
      view.blastRadius = radius;
      view.assessmentError = undefined;
      // Only a live malware or build report on a radius that is not over-broad opens anything.
      const kind = report.alert?.kind;
      const acts = radius.releases.length > 0 && !radius.overBroad && (kind === 'malware' || kind === 'compromised-build') && !report.alert?.withdrawn;
      // Containments already opened from this same answer have their report: don't send every repeat.
      if (request.registry && acts && !(fresh && (view.containments?.length ?? 0) > 0)) {
        const opened = await incidents.openContainments({ radius, registry: request.registry, report });
        view.containments = [...new Set([...(view.containments ?? []), ...opened])];
      }
      if (fresh) return;
    } catch (error) {
      // An ActivityFailure's own message is generic; its cause says what went wrong.
      const cause = error instanceof ActivityFailure && error.cause ? error.cause : error;
      view.assessmentError = cause instanceof Error ? cause.message : String(cause);
      log.warn('blast radius assessment failed', { error: view.assessmentError });
    }
    view.assessedAt = new Date(Date.now()).toISOString();
    upsertSearchAttributes([{ key: INCIDENT_STATUS, value: statusOf(view).slice(0, 200) }]);
  };
  if (assessed < view.reports.length) await assess();

  while (closeReason === undefined) {
    const woke = await condition(() => closeReason !== undefined || historyIsLong() || (assessed < view.reports.length && (request.affected !== undefined || request.build !== undefined)), INCIDENT_IDLE_TIMEOUT);
    if (woke && closeReason === undefined && !historyIsLong() && assessed < view.reports.length) {
      await assess();
      continue;
    }
    if (!woke) closeReason = `no new report for ${INCIDENT_IDLE_TIMEOUT}`;
    else if (closeReason === undefined) await continueAsNew<typeof watchIncidentWorkflowV1>({ ...request, resume: view });
  }
  view.status = 'closed';
  view.closeReason = closeReason;
  view.closedAt = new Date(Date.now()).toISOString();
  upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'closed' }]);
  return view;
}
