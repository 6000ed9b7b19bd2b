// Names shared by the workflow and its clients (CLI, server, tests).
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IncidentView, Report } from '../core/incident';

export const TASK_QUEUE = 'quarantine';
export const timelineQuery = defineQuery<IncidentView>('timeline');
/** A further report of the same compromise joins the running incident. */
export const reportSignal = defineSignal<[Report]>('report');
export const CONTAINMENT_FAILED = 'ContainmentFailed';
