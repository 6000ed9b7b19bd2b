// How long an open incident lives, shared by every incident workflow.
import { workflowInfo } from '@temporalio/workflow';

/** An open incident closes after this long without a new report. */
export const INCIDENT_IDLE_TIMEOUT = '7 days';
export const INCIDENT_IDLE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
/** A contained incident reads the registry back this often, to catch a token holder undoing it. */
export const INCIDENT_RECHECK_INTERVAL_MS = 15 * 60 * 1000;

/** Shortest idle timeout a request may ask for: an incident never closes before a report can join. */
export const MIN_IDLE_TIMEOUT_MS = 1_000;

/**
 * A duration a request asked for (tests and recordings shorten the defaults), raised to `minimum` so that
 * a typo cannot make an incident spin; the default when absent or not a positive number.
 */
export function requestedDuration(value: number | undefined, fallback: number, minimum: number): number {
  return value !== undefined && Number.isFinite(value) && value > 0 ? Math.max(minimum, value) : fallback;
}

/** Keeps each run's history small: a storm of reports continues in a fresh run with the same view. */
const MAX_HISTORY_EVENTS = 5_000;

export function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > MAX_HISTORY_EVENTS;
}

/** A duration for the timeline, in the largest whole unit: "7 days", "15 minutes", "2500 ms". */
export function durationText(ms: number): string {
  const units: [number, string][] = [
    [24 * 60 * 60 * 1000, 'day'],
    [60 * 60 * 1000, 'hour'],
    [60 * 1000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, unit] of units) {
    if (ms >= size && ms % size === 0) return `${ms / size} ${unit}${ms === size ? '' : 's'}`;
  }
  return `${ms} ms`;
}
