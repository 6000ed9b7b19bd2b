// POST /api/incidents/:id/approve|reject|rollback: a person's decision on a playbook incident from the
// server, the same Temporal updates `quarantine approve|reject|rollback` sends, with the same validators
// (workflows/playbook.ts approvalProblem) deciding. The person is the login (server/auth.ts): a request
// never names who decides. A one-time password is sealed before it leaves this process (the payload
// codec of the client given here encrypts it), and never appears in an answer, an error or a log line.
//
// An encapsulated plugin: its hooks, parser checks and error handler apply to these routes only.
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { z } from 'zod';
import { ONE_TIME_PASSWORD, sealOneTimePassword } from '../app/one-time-password';
import { MAX_INCIDENT_ID_LENGTH } from '../core/incident-id';
import { oneCleanLine } from '../core/plan';
import type { SealedSecret } from '../core/playbook/ports';
import type { PlaybookView } from '../core/playbook/view';
import { printable } from '../core/spec';
import { describeTemporalFailure } from '../worker/temporal-refusal';
import { approvalRefusedSignal, approveUpdate, rejectUpdate, rollbackUpdate, type ApprovalRequest } from '../workflows/definitions';
import { MAX_RELEASES_PER_COMMAND, onCallRequestFor, submitOnCall, type OnCallRequest } from '../cli/report';
import { isContainedView } from '../cli/on-call-output';
import { normalizeRegistryUrl } from '../core/registry-url';
import type { Policy } from '../core/playbook/policy';
import { browserRequestProblem, requireUser, userOf, type UiAccess, type UiUsers } from './auth';

export type Decision = 'approve' | 'reject' | 'rollback';
const DECISIONS: readonly Decision[] = ['approve', 'reject', 'rollback'];

export interface ApprovalsOptions {
  /** Who may log in; without users the routes answer 503 and say how to turn them on. */
  users?: UiUsers;
  /** A client whose payload codec seals one-time passwords (worker/secret-codec.ts); needed with users. */
  client?: Client;
  /** Temporal's address and namespace, to word its refusals. */
  temporal?: { address: string; namespace: string };
  /** Who may decide (QUARANTINE_UI_APPROVERS) and the pages' CSRF tokens; without it every user may try. */
  access?: UiAccess;
  /**
   * On-call reports over the API (`POST /api/reports`, what `quarantine <spec>` sends with
   * QUARANTINE_SERVER): the task queue, registry and policy this server's incidents start with.
   */
  reports?: { taskQueue: string; registry: string; policy: Policy };
}

/** A decision is a few ids and a line of text: anything larger is not one. */
export const APPROVAL_BODY_LIMIT = 64 * 1024;
const MAX_ACTIONS = 500;
const MAX_NOTE = 1000;

/** Only playbook incidents take decisions; their ids are printable ASCII (core/incident-id.ts, core/intake.ts). */
const PLAYBOOK_INCIDENT_ID = /^compromise-[\x21-\x7e]+$/;
/** The action ids the playbook gives (core/playbook/action.ts), as `quarantine approve` takes them. */
const ACTION_ID = /^[a-z0-9-]+:[@a-z0-9._~/:-]{1,400}$/i;

const actions = z.array(z.string().max(450).regex(ACTION_ID, 'an action id, as the incident lists them'), 'a list of action ids').max(MAX_ACTIONS, `at most ${MAX_ACTIONS} action ids`);
const text = z.string('text').max(MAX_NOTE, `at most ${MAX_NOTE} characters`);
// The message never quotes the value: a mistyped password is still most of a password.
const otp = z.string('6 to 8 digits, as a string').regex(ONE_TIME_PASSWORD, 'a one-time password is 6 to 8 digits');

const BODIES = {
  approve: z.strictObject({ actions: actions.optional(), note: text.optional(), otp: otp.optional(), hostsSwept: z.boolean('true or false').optional() }),
  reject: z.strictObject({ actions: actions.optional(), note: text.optional() }),
  rollback: z.strictObject({ reason: text.optional(), otp: otp.optional() }),
} satisfies Record<Decision, z.ZodType>;

/** Why a field is refused, for the fields a decision does not take. */
const NOT_TAKEN: Record<Decision, Record<string, string>> = {
  approve: { reason: 'an approval takes a note, not a reason' },
  reject: { otp: 'a rejection needs no one-time password', hostsSwept: 'only an approval says the hosts were swept' },
  rollback: { actions: 'a rollback undoes the whole incident: it takes no action ids', note: 'a rollback takes a reason, not a note', hostsSwept: 'only an approval says the hosts were swept' },
};

class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string) {
    super(message);
  }
}

function bodyProblem(decision: Decision, error: z.ZodError): ApiError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const why = NOT_TAKEN[decision][key];
    return new ApiError(400, why ?? `unknown field "${printable(key.slice(0, 40))}": ${decision} takes ${Object.keys(BODIES[decision].shape).join(', ')}`, key.slice(0, 40));
  }
  const field = issue.path.join('.');
  return new ApiError(400, field ? `${field}: ${issue.message}` : `send a JSON object (${issue.message})`, field || undefined);
}

/**
 * Only `application/json` is taken. A page on another site can make a browser post a form (urlencoded,
 * multipart or text/plain) here, with the Basic credentials the browser remembers for this server; it
 * cannot send application/json without a CORS preflight, which this server never grants. So refusing
 * every other type before the body is read is what keeps a decision from being forged cross-site.
 */
function isJson(request: FastifyRequest): boolean {
  const type = request.headers['content-type'];
  return typeof type === 'string' && type.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** How long a report over the API waits for its answer unless it says otherwise; a proxy's timeout is usually longer. */
const DEFAULT_REPORT_WAIT_SECONDS = 60;

const REPORT_BODY = z.strictObject({
  releases: z.array(z.string().max(300), 'a list of name@version').min(1, 'name at least one release').max(MAX_RELEASES_PER_COMMAND, `at most ${MAX_RELEASES_PER_COMMAND} releases in one report`),
  reason: text.optional(),
  plan: z.boolean('true or false').optional(),
  registry: z.string().max(500).optional(),
  waitSeconds: z.number().int().min(1).max(600).optional(),
});

/** An on-call report: the releases it names, on this server's registry only (its worker holds that token). */
function parseReport(raw: unknown, registry: string): z.infer<typeof REPORT_BODY> {
  const value = parseJson(raw, 'send a JSON object: {"releases": ["name@version", ...]}');
  const parsed = REPORT_BODY.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') throw new ApiError(400, `unknown field "${printable(issue.keys[0]!.slice(0, 40))}": a report takes ${Object.keys(REPORT_BODY.shape).join(', ')}`, issue.keys[0]!.slice(0, 40));
    const field = issue.path.join('.');
    throw new ApiError(400, field ? `${field}: ${issue.message}` : `send a JSON object (${issue.message})`, field || undefined);
  }
  if (parsed.data.registry !== undefined) {
    let asked: string;
    try {
      asked = normalizeRegistryUrl(parsed.data.registry);
    } catch {
      throw new ApiError(400, 'registry: not a registry URL', 'registry');
    }
    if (asked !== registry) throw new ApiError(400, `this server contains releases on ${registry} only`, 'registry');
  }
  return parsed.data;
}

function parseJson(raw: unknown, empty: string): unknown {
  if (!Buffer.isBuffer(raw) || raw.length === 0) throw new ApiError(400, empty);
  try {
    return sjson.parse(raw.toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch {
    throw new ApiError(400, 'the body is not valid JSON (or holds a __proto__ or constructor key)');
  }
}

function parseBody(decision: Decision, raw: unknown) {
  const value = parseJson(raw, 'send a JSON object ({} decides every action that waits)');
  const parsed = BODIES[decision].safeParse(value);
  if (!parsed.success) throw bodyProblem(decision, parsed.error);
  return parsed.data as { actions?: string[]; note?: string; otp?: string; hostsSwept?: boolean; reason?: string };
}

/** The validator's own words, without the SDK's wrapping. */
function validatorMessage(err: WorkflowUpdateFailedError): string {
  return oneCleanLine(err.cause?.message ?? err.message, 400);
}

/**
 * A refusal for the person's role is 403; any other (the action does not wait, a password or the
 * hosts-swept confirmation is missing, the incident is rolled back) is a conflict with the incident's
 * state: 409. The role refusals are the validators' "may not" (workflows/playbook.ts).
 */
function refusalStatus(message: string): number {
  return /\bmay not (approve|roll back)\b/.test(message) ? 403 : 409;
}

function answer(view: PlaybookView) {
  return {
    incident: view.incident,
    status: view.status,
    actions: view.actions.map((a) => ({
      id: a.action.id,
      kind: a.action.kind,
      status: a.status,
      ...(a.approvedBy ? { approvedBy: a.approvedBy } : {}),
      ...(a.error ? { error: a.error } : {}),
    })),
  };
}

export async function approvalsPlugin(api: FastifyInstance, options: ApprovalsOptions): Promise<void> {
  api.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      request.log.info({ status: error.status, field: error.field }, `decision refused: ${error.message}`);
      return reply.code(error.status).send({ error: error.message, ...(error.field ? { field: error.field } : {}) });
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send({ error: `a decision is at most ${APPROVAL_BODY_LIMIT} bytes` });
    if (status === 415) return reply.code(415).send({ error: 'send application/json' });
    if (status >= 400 && status < 500) return reply.code(status).send({ error: oneCleanLine(error.message, 200) });
    // Only the error's name and message: a request's body is never part of what is logged.
    request.log.error({ error: error.name, message: oneCleanLine(error.message, 400) }, 'decision failed');
    return reply.code(500).send({ error: 'the decision could not be sent; nothing is known to have changed: look at the incident, then send it again' });
  });

  const { users, client } = options;
  if (!users || !client) {
    const off = async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(503).send({ error: 'decisions and reports over the API are off: set QUARANTINE_UI_USERS (name:password pairs, see the README) and restart quarantine serve' });
    for (const decision of DECISIONS) api.post(`/incidents/:id/${decision}`, off);
    api.post('/reports', off);
    return;
  }

  // Authentication, then the content type, both before the body is read.
  api.addHook('onRequest', requireUser(users));
  api.addHook('onRequest', async (request, reply) => {
    if (!isJson(request)) return reply.code(415).header('connection', 'close').send({ error: 'send application/json' });
  });
  const { access } = options;
  if (access) {
    api.addHook('onRequest', async (request, reply) => {
      const user = userOf(request);
      if (!access.isApprover(user)) return reply.code(403).header('connection', 'close').send({ error: `${user} is not an approver here (QUARANTINE_UI_APPROVERS does not name them)` });
      const problem = browserRequestProblem(request, access, user);
      if (problem) return reply.code(403).header('connection', 'close').send({ error: problem });
    });
  }

  const { reports } = options;
  if (reports) {
    api.post('/reports', { bodyLimit: APPROVAL_BODY_LIMIT }, async (request, reply) => {
      const body = parseReport(request.body, reports.registry);
      const by = userOf(request);
      let built: OnCallRequest;
      try {
        built = onCallRequestFor({ specs: body.releases, reason: body.reason, registry: reports.registry, planOnly: body.plan ?? false, policy: reports.policy, requestedBy: `api:${by}` });
      } catch (err) {
        throw new ApiError(400, oneCleanLine((err as Error).message, 300), 'releases');
      }
      const waitMs = (body.waitSeconds ?? DEFAULT_REPORT_WAIT_SECONDS) * 1000;
      const submitted = submitOnCall(client, built, { taskQueue: reports.taskQueue, waitMs });
      let view: PlaybookView | undefined;
      let runId: string | undefined;
      try {
        const handle = await submitted.started;
        // The run's id is for the answer only: asked while the incident works, never waited for alone.
        const run = handle?.describe().then((d) => d.runId, () => undefined);
        view = await submitted.finished;
        runId = await run;
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) return reply.code(409).send({ error: validatorMessage(err) });
        const temporal = options.temporal && describeTemporalFailure(err, options.temporal);
        if (temporal) return reply.code(503).send({ error: `Temporal: ${temporal}` });
        throw err;
      } finally {
        submitted.done();
      }
      request.log.info({ incident: built.incident, by, releases: body.releases.length }, 'on-call report taken');
      if (view === undefined) {
        return reply.code(202).send({ incident: built.incident, workflowId: built.incident, ...(runId ? { runId } : {}), status: 'unknown', reportId: built.first.report.reportId, error: `no outcome after ${waitMs} ms; the incident goes on` });
      }
      const isNew = view.reports[0]?.reportId === built.first.report.reportId;
      return reply.code(200).send({ ...view, workflowId: view.incident, runId, new: isNew, contained: isContainedView(view), reportId: built.first.report.reportId });
    });
  }

  for (const decision of DECISIONS) {
    api.post<{ Params: { id: string } }>(`/incidents/:id/${decision}`, { bodyLimit: APPROVAL_BODY_LIMIT }, async (request, reply) => {
      const incident = request.params.id;
      if (incident.length > MAX_INCIDENT_ID_LENGTH || !PLAYBOOK_INCIDENT_ID.test(incident)) {
        throw new ApiError(400, `"${printable(incident.slice(0, 80))}" is not the id of a playbook incident (compromise-…)`, 'id');
      }
      const body = parseBody(decision, request.body);
      const by = userOf(request);
      const note = body.note ?? body.reason;
      const ask: ApprovalRequest = { actionIds: body.actions ?? [], by, ...(note ? { note: oneCleanLine(note) } : {}), ...(body.hostsSwept ? { hostsSwept: true } : {}) };
      const secret: SealedSecret | undefined = body.otp === undefined ? undefined : sealOneTimePassword(body.otp);
      const handle = client.workflow.getHandle(incident);
      let view: PlaybookView;
      try {
        if (decision === 'approve') view = await handle.executeUpdate(approveUpdate, { args: secret ? [ask, secret] : [ask] });
        else if (decision === 'reject') view = await handle.executeUpdate(rejectUpdate, { args: [ask] });
        else {
          const rollback = { by, reason: ask.note ?? `rolled back by ${by}` };
          view = await handle.executeUpdate(rollbackUpdate, { args: secret ? [rollback, secret] : [rollback] });
        }
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          const message = validatorMessage(err);
          // On the audit trail too, as the CLI does: the incident checks the request again and words it itself.
          await handle.signal(approvalRefusedSignal, { ...ask, decision, hadPassword: secret !== undefined }).catch(() => undefined);
          request.log.info({ incident, decision, by }, `decision refused by the incident: ${message}`);
          return reply.code(refusalStatus(message)).send({ error: message });
        }
        if (err instanceof Error && err.name === 'WorkflowNotFoundError') throw new ApiError(404, `no open incident ${printable(incident)}`);
        const temporal = options.temporal && describeTemporalFailure(err, options.temporal);
        if (temporal) {
          request.log.warn({ incident, decision }, `Temporal: ${temporal}`);
          return reply.code(503).send({ error: `Temporal: ${temporal}` });
        }
        throw err;
      }
      request.log.info({ incident, decision, by, actions: ask.actionIds.length > 0 ? ask.actionIds : 'every waiting action' }, `${decision} taken`);
      return reply.code(200).send(answer(view));
    });
  }
}
