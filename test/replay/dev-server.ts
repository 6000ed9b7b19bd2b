// The recorder's own Temporal dev server: the test stack's (stack/temporal-server.ts), with the server's
// continue-as-new suggestion lowered from 4096 events to a few hundred, so that the continue-as-new path
// of a long incident is recorded from a few dozen reports instead of thousands. The suggestion reaches
// the workflow as workflowInfo().continueAsNewSuggested, which the history records on each workflow
// task; replay reads it from there, whatever the threshold was.
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-server';

/** Above every non-continue-as-new scenario's history (the longest, failed then retried, is under 100 events). */
export const SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS = 200;

export function startRecorderServer(): Promise<TemporalDevServer> {
  return startTemporalDevServer({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': SUGGEST_CONTINUE_AS_NEW_AFTER_EVENTS } });
}
