// An incident that records alerts for a person (or a later capability) to act on: a dependency
// compromise (which of our releases contain it), a range-only alert on our own package, a leaked
// token, a withdrawn alert. It writes nothing anywhere; it keeps the reports and their timeline.
import { condition, continueAsNew, defineQuery, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { Report } from '../core/incident';
import type { WatchKind, WatchRequest } from '../core/intake';
import { closeSignal, reportSignal } from './definitions';
import { historyIsLong, INCIDENT_IDLE_TIMEOUT } from './lifetime';
import { INCIDENT_PACKAGE, INCIDENT_STATUS } from './search-attributes';

export interface WatchView {
  incident: string;
  kind: WatchKind;
  subject: string;
  status: 'open' | 'closed';
  reports: Report[];
  startedAt: string;
  closedAt?: string;
  closeReason?: string;
}

export const watchQuery = defineQuery<WatchView>('watch');


const NEXT_STEP: Record<WatchKind, string> = {
  review: 'the alert gives ranges, not releases: confirm the releases and run `quarantine <name>@<version>`',
  dependency: 'a dependency of ours: find which of our releases contain it',
  'leaked-token': 'revoke the token (a gated step: revocation can trigger a dead-man switch)',
  withdrawn: 'the source withdrew or dismissed it: check whether an earlier containment should be rolled back',
};

export async function watchIncidentWorkflow(request: WatchRequest & { resume?: WatchView }): Promise<WatchView> {
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
  while (closeReason === undefined) {
    const woke = await condition(() => closeReason !== undefined || historyIsLong(), INCIDENT_IDLE_TIMEOUT);
    if (!woke) closeReason = `no new report for ${INCIDENT_IDLE_TIMEOUT}`;
    else if (closeReason === undefined) await continueAsNew<typeof watchIncidentWorkflow>({ ...request, resume: view });
  }
  view.status = 'closed';
  view.closeReason = closeReason;
  view.closedAt = new Date(Date.now()).toISOString();
  upsertSearchAttributes([{ key: INCIDENT_STATUS, value: 'closed' }]);
  return view;
}
