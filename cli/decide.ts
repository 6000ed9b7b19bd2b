// `quarantine approve|reject|rollback <incident> [action id...]`: a person's decision on a playbook
// incident, as a Temporal update the workflow validates (who may decide what, a one-time password where
// npm asks one). A refusal is said in one line and put on the incident's audit trail.
import { userInfo } from 'node:os';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { oneCleanLine } from '../core/plan';
import type { SealedSecret } from '../core/playbook/ports';
import { sealOneTimePassword } from '../app/one-time-password';
import type { PlaybookView } from '../core/playbook/view';
import { printable } from '../core/spec';
import { approvalRefusedSignal, approveUpdate, rejectUpdate, rollbackUpdate, type ApprovalRequest } from '../workflows/definitions';
import type { Output } from './contain';
import { renderPlaybook } from './render-playbook';
import { terminalSafe } from './render';

export type Decision = 'approve' | 'reject' | 'rollback';

export interface DecisionInput {
  decision: Decision;
  incident: string;
  actionIds: string[];
  by: string;
  note?: string;
  otp?: string;
  hostsSwept: boolean;
}

const ACTION_ID = /^[a-z0-9-]+:[@a-z0-9._~/:-]{1,400}$/i;
const OTP = /^\d{6,8}$/;
const APPROVER = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/;

/** Checks a decision before anything connects; throws a one-line error. */
export function decisionInput(decision: Decision, positionals: string[], values: { as?: string; note?: string; reason?: string; otp?: string; 'hosts-swept'?: boolean }): DecisionInput {
  const [incident, ...actionIds] = positionals;
  if (!incident) throw new Error(`${decision} takes an incident id${decision === 'rollback' ? '' : ' and, optionally, the action ids to decide (default: every action that waits)'}`);
  // eslint-disable-next-line no-control-regex
  if (incident.length > 400 || /[\u0000-\u001f\u007f-\u009f\s]/.test(incident)) throw new Error(`"${printable(incident.slice(0, 80))}" is not an incident id`);
  if (decision === 'rollback' && actionIds.length > 0) throw new Error('rollback undoes the whole incident: give only its id');
  for (const id of actionIds) if (!ACTION_ID.test(id)) throw new Error(`"${printable(id.slice(0, 80))}" is not an action id (quarantine timeline ${printable(incident)} lists them)`);
  const by = values.as ?? userInfo().username;
  if (!APPROVER.test(by)) throw new Error(`--as "${printable(by.slice(0, 80))}": a user name of letters, digits, . _ @ -`);
  if (values.otp !== undefined && !OTP.test(values.otp)) throw new Error('--otp takes the 6 to 8 digits of a one-time password');
  if (decision === 'reject' && values.otp !== undefined) throw new Error('a rejection needs no one-time password');
  const note = values.note ?? values.reason;
  return {
    decision,
    incident,
    actionIds,
    by,
    ...(note ? { note: oneCleanLine(note) } : {}),
    ...(values.otp ? { otp: values.otp } : {}),
    hostsSwept: values['hosts-swept'] === true,
  };
}

/** The reason a validator gave, without the SDK's wrapping. */
function refusal(err: WorkflowUpdateFailedError): string {
  const cause = err.cause as Error | undefined;
  return cause?.message ?? err.message;
}

export async function decide(client: Client, input: DecisionInput, json: boolean, output: Output): Promise<number> {
  const handle = client.workflow.getHandle(input.incident);
  const secret: SealedSecret | undefined = input.otp ? sealOneTimePassword(input.otp) : undefined;
  const ask: ApprovalRequest = { actionIds: input.actionIds, by: input.by, ...(input.note ? { note: input.note } : {}), ...(input.hostsSwept ? { hostsSwept: true } : {}) };
  let view: PlaybookView;
  try {
    if (input.decision === 'approve') view = await handle.executeUpdate(approveUpdate, { args: secret ? [ask, secret] : [ask] });
    else if (input.decision === 'reject') view = await handle.executeUpdate(rejectUpdate, { args: [ask] });
    else view = await handle.executeUpdate(rollbackUpdate, { args: secret ? [{ by: input.by, reason: input.note ?? `rolled back by ${input.by}` }, secret] : [{ by: input.by, reason: input.note ?? `rolled back by ${input.by}` }] });
  } catch (err) {
    if (!(err instanceof WorkflowUpdateFailedError)) throw err;
    // On the audit trail too: the workflow checks it again and words it itself.
    await handle.signal(approvalRefusedSignal, { ...ask, decision: input.decision, hadPassword: secret !== undefined }).catch(() => undefined);
    output.err(`quarantine ${input.decision}: refused: ${terminalSafe(refusal(err))}`);
    return 2;
  }
  if (json) output.out(JSON.stringify(view, null, 2));
  else output.out(renderPlaybook(view));
  const failed = view.actions.some((a) => (input.actionIds.length === 0 || input.actionIds.includes(a.action.id)) && (a.status === 'failed' || a.status === 'conflict'));
  return failed ? 1 : 0;
}
