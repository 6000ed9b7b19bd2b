// Names shared by the workflow and its clients (CLI, server, tests).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { IncidentView, Report } from '../core/incident';
import type { CompromiseReport } from '../core/playbook/plan';
import type { PackageWriteRequest, PackageWriteResults, SealedSecret } from '../core/playbook/ports';
import type { PlaybookView } from '../core/playbook/view';

export { TASK_QUEUE } from '../core/task-queue';
export const timelineQuery = defineQuery<IncidentView>('timeline');
/** Further reports of the same compromise join the open incident, in batches. */
export const reportSignal = defineSignal<[Report[]]>('reports');
/**
 * A report from a caller who waits for the answer (the CLI): joins the incident like the signal, then
 * completes once containment has an outcome that includes this report.
 */
export const reportAndAwaitOutcome = defineUpdate<IncidentView, [Report]>('reportAndAwaitOutcome');
/** Closes an incident: no more reports join it. */
export const closeSignal = defineSignal<[string]>('close');

/** A playbook incident: its actions, gates and audit trail. */
export const playbookQuery = defineQuery<PlaybookView>('playbook');
export type { CompromiseReport };

/** Reports from the intake, in batches: they join the incident; one that authorises writes contains what they add. */
export const compromiseReportsSignal = defineSignal<[CompromiseReport[]]>('compromiseReports');
/**
 * A report from a caller who waits (the on-call CLI): joins like the signal, and completes once a pass
 * that started after it has read the registry back, never with an answer from memory.
 */
export const reportCompromiseUpdate = defineUpdate<PlaybookView, [CompromiseReport]>('reportCompromise');

export interface ApprovalRequest {
  /** The actions decided on; empty for every action that waits. */
  actionIds: string[];
  /** Who decides: checked against the policy's approvers. */
  by: string;
  note?: string;
  /** For a token revocation: the approver says the hosts that held the token were swept first. */
  hostsSwept?: boolean;
}

/**
 * Approves waiting actions and completes once they ran and were read back. A one-time password, when
 * the actions need one, is the second argument, sealed: the payload codec encrypts it.
 */
export const approveUpdate = defineUpdate<PlaybookView, [ApprovalRequest, SealedSecret?]>('approve');
export const rejectUpdate = defineUpdate<PlaybookView, [ApprovalRequest]>('reject');
/**
 * Sent by a client whose approval the validator refused, so that the refusal is on the audit trail
 * (a validator cannot write history). The workflow checks the request again and records its own reason,
 * so a sender cannot put words of its choosing there.
 */
export const approvalRefusedSignal = defineSignal<[ApprovalRequest & { decision: 'approve' | 'reject' | 'rollback'; hadPassword: boolean }]>('approvalRefused');

export interface RollbackRequest {
  by: string;
  reason: string;
}

/** Undoes what can be undone, from the before-images; lists what cannot. */
export const rollbackUpdate = defineUpdate<PlaybookView, [RollbackRequest, SealedSecret?]>('rollback');

/** Selects writes through the package writers in playbookWorkflow; incidents recorded before them write themselves. */
export const PACKAGE_WRITERS_PATCH = 'package-writers';
/** Writers read each package back right after its writes and answer with it; the incident's verification reads nothing itself. */
export const WRITER_READ_BACK_PATCH = 'writer-read-back';
/** Within a package, the deprecation before the tag moves, which then check the packument it read (one read fewer per package). */
export const DEPRECATIONS_FIRST_PATCH = 'deprecations-first';
/** Writers run the writes of packages that are free at once, a few to an activity, not one activity per package. */
export const WRITER_BATCHES_PATCH = 'writer-batches';
/** The incident reads the packages it plans for a few to an activity, not one activity per package. */
export const BATCHED_READS_PATCH = 'batched-reads';

/** A request for writes to one package, to that package's writer; the password (if any) sealed, alone. */
export const packageWriteSignal = defineSignal<[PackageWriteRequest, SealedSecret?]>('packageWrite');
/** The writer's answer to the incident that asked: one outcome or failure per action, in order. */
export const packageWrittenSignal = defineSignal<[PackageWriteResults]>('packageWritten');
/** What a package's writer runs, waits to run, and ran lately: which incident, when. */
export const packageWriterQuery = defineQuery<PackageWriterView>('packageWriter');

/** One package's part of a request, as its writer ran it. */
export interface PackageWriterRecord {
  requestId: string;
  incident: string;
  name: string;
  actions: string[];
  receivedAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface PackageWriterView {
  registry: string;
  /** Package writes taken and not finished: running, or waiting for an earlier request's writes to the same package. */
  pending: PackageWriterRecord[];
  /** The latest package writes finished, oldest first (at most 100); `served` counts the requests, across runs. */
  recent: PackageWriterRecord[];
  served: number;
  /** Request ids taken lately: a redelivered request is not run again (bounded, carried through continue-as-new). */
  seen: string[];
}
