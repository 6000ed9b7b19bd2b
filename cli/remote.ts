// `quarantine <spec>...` through `quarantine serve` (QUARANTINE_SERVER): the server already holds a
// warm Temporal connection, so the command loads none of the Temporal client, and an on-call laptop
// needs no Temporal credentials, only a login of the server's (QUARANTINE_UI_USERS). The server
// builds the incident with its own policy and registry, exactly as the CLI would (server/approvals.ts).
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { PlaybookView } from '../core/playbook/view';
import { InvalidSpecError, parseReleaseSpec } from '../core/spec';
import type { Output } from './contain';
import { printOnCallOutcome } from './on-call-output';
import { terminalSafe } from './render';

export interface ServerSettings {
  url: URL;
  user: string;
  password: string;
}

/** QUARANTINE_SERVER with its login, or undefined when unset; a half-given setting is an error. */
export function serverFromEnv(env: NodeJS.ProcessEnv): ServerSettings | undefined {
  const address = env.QUARANTINE_SERVER;
  if (!address) return undefined;
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new InvalidSpecError(`QUARANTINE_SERVER: ${JSON.stringify(address.slice(0, 100))} is not a URL (http(s)://host:port of quarantine serve)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidSpecError('QUARANTINE_SERVER: an http(s) URL of quarantine serve');
  if (url.username || url.password) throw new InvalidSpecError('QUARANTINE_SERVER: give the login in QUARANTINE_SERVER_USER and QUARANTINE_SERVER_PASSWORD, not in the URL');
  const user = env.QUARANTINE_SERVER_USER;
  const password = env.QUARANTINE_SERVER_PASSWORD;
  if (!user || !password) throw new InvalidSpecError('QUARANTINE_SERVER is set: give its login too, QUARANTINE_SERVER_USER and QUARANTINE_SERVER_PASSWORD (a user of its QUARANTINE_UI_USERS)');
  return { url, user, password };
}

export interface RemoteReport {
  specs: string[];
  reason?: string;
  plan: boolean;
  /** The registry the command named, if it did: the server contains on its own registry only. */
  registry?: string;
  waitMs: number;
  json: boolean;
}

/** Sends the report; prints what `quarantine <spec>` prints and returns its exit status. */
export async function reportViaServer(server: ServerSettings, report: RemoteReport, output: Output): Promise<number> {
  // Bad specs are refused here, before anything is sent.
  if (report.specs.length === 0) throw new InvalidSpecError('name at least one release: quarantine <name>@<version>...');
  for (const spec of report.specs) parseReleaseSpec(spec);
  const waitSeconds = Math.max(1, Math.min(600, Math.ceil(report.waitMs / 1000)));
  const endpoint = new URL('api/reports', server.url.href.endsWith('/') ? server.url : `${server.url.href}/`);
  let response: { status: number; body: string };
  try {
    response = await postJson(
      endpoint,
      `Basic ${Buffer.from(`${server.user}:${server.password}`).toString('base64')}`,
      JSON.stringify({ releases: report.specs, ...(report.reason !== undefined ? { reason: report.reason } : {}), ...(report.plan ? { plan: true } : {}), ...(report.registry ? { registry: report.registry } : {}), waitSeconds }),
      waitSeconds * 1000 + 15_000,
    );
  } catch (err) {
    output.err(`quarantine: cannot reach quarantine serve at ${server.url.origin} (${terminalSafe((err as Error).message)})`);
    return 2;
  }
  let answer: Partial<PlaybookView> & { error?: string; reportId?: string; runId?: string; incident?: string } = {};
  try {
    answer = JSON.parse(response.body) as typeof answer;
  } catch {
    // Not JSON (a proxy's error page): the status says what happened.
  }
  if (response.status === 200 || response.status === 202) {
    const view = response.status === 200 ? (answer as PlaybookView) : undefined;
    if (!report.json && view) output.err(`incident ${terminalSafe(view.incident)} (run ${terminalSafe(answer.runId ?? 'unknown')}, through ${server.url.origin})`);
    return printOnCallOutcome(view, { incident: answer.incident ?? view?.incident ?? 'unknown', reportId: answer.reportId ?? '', ...(answer.runId ? { runId: answer.runId } : {}), json: report.json, waitMs: waitSeconds * 1000, printed: 0 }, output);
  }
  const why = terminalSafe(answer.error ?? `HTTP ${response.status}`);
  if (response.status === 401) output.err(`quarantine: quarantine serve at ${server.url.origin} refused the login of ${terminalSafe(server.user)} (QUARANTINE_SERVER_USER, QUARANTINE_SERVER_PASSWORD)`);
  else output.err(`quarantine: quarantine serve refused the report (${response.status}): ${why}`);
  return response.status === 409 || response.status >= 500 ? 1 : 2;
}

/** One POST with node's own http client: `fetch` would load undici first, a visible part of a short command. */
function postJson(url: URL, authorization: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization }, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`)));
    request.on('error', reject);
    request.end(body);
  });
}
