// Sending alerts the way GitHub and Standard Webhooks senders do, to a running intake.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { signGithub, signStandardWebhook } from '../../core/alerts/signatures';
import type { ServeConfig } from '../../server/config';
import { DEFAULT_SIGNALS_PER_SECOND } from '../../server/drainer';

export const GITHUB_SECRETS = ['old-github-secret-being-rotated', 'new-github-secret'];
export const STANDARD_SECRETS = [`whsec_${Buffer.from('quarantine-test-standard-webhooks-key').toString('base64')}`];

export function intakeConfig(overrides: Partial<ServeConfig> & Pick<ServeConfig, 'registry' | 'taskQueue'>): ServeConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'quarantine-intake-')),
    owned: ['@acme/*'],
    secrets: { github: GITHUB_SECRETS, standard: STANDARD_SECRETS },
    bodyLimit: 256 * 1024,
    signalsPerSecond: DEFAULT_SIGNALS_PER_SECOND,
    ...overrides,
  };
}

export interface Answer {
  status: number;
  body: { delivery?: string; duplicate?: boolean; ignored?: string; error?: string; field?: string; incidents?: { incident: string; new: boolean; kind: string }[] };
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: Answer['body'] = {};
  try {
    body = JSON.parse(text) as Answer['body'];
  } catch {
    body = { error: text };
  }
  return { status: response.status, body };
}

export async function sendGithub(
  url: string,
  event: string,
  payload: unknown,
  { delivery = randomUUID(), secret = GITHUB_SECRETS[1]!, signature }: { delivery?: string; secret?: string; signature?: string | null } = {},
): Promise<Answer> {
  const raw = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': delivery };
  const sig = signature === undefined ? signGithub(raw, secret) : signature;
  if (sig !== null) headers['x-hub-signature-256'] = sig;
  return answer(await fetch(`${url}/v1/alerts/github`, { method: 'POST', headers, body: raw }));
}

export async function sendStandard(
  url: string,
  path: string,
  body: string | Buffer,
  { id = `msg_${randomUUID()}`, timestamp = Math.floor(Date.now() / 1000), secret = STANDARD_SECRETS[0]!, signature, contentType = 'application/json' }:
    { id?: string; timestamp?: number; secret?: string; signature?: string | null; contentType?: string } = {},
): Promise<Answer> {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const headers: Record<string, string> = { 'content-type': contentType, 'webhook-id': id, 'webhook-timestamp': String(timestamp) };
  const sig = signature === undefined ? signStandardWebhook(raw, id, timestamp, secret) : signature;
  if (sig !== null) headers['webhook-signature'] = sig;
  return answer(await fetch(`${url}${path}`, { method: 'POST', headers, body: raw }));
}

/** Every incident (workflow id) on a task queue, as Temporal's visibility lists them. */
export async function incidentsOn(client: Client, taskQueue: string): Promise<string[]> {
  const ids: string[] = [];
  // Package writers run on the same queue; they are not incidents.
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND WorkflowType != 'packageWriterWorkflow'` })) ids.push(execution.workflowId);
  return [...new Set(ids)].sort();
}
