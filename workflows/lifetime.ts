// How long an open incident lives, shared by every incident workflow.
import { workflowInfo } from '@temporalio/workflow';

/** An open incident closes after this long without a new report. */
export const INCIDENT_IDLE_TIMEOUT = '7 days';

/** Keeps each run's history small: a storm of reports continues in a fresh run with the same view. */
const MAX_HISTORY_EVENTS = 5_000;

export function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS;
}
