// The alert endpoints: how each is verified (returning its delivery id) and parsed.
import { AlertRejection } from '../core/alert';
import { parseAuditReport } from '../core/alerts/audit';
import { parseGenericAlert } from '../core/alerts/generic';
import { parseGithubDelivery } from '../core/alerts/github';
import { parseOsvAlerts } from '../core/alerts/osv';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { verifyGithubSignature, verifyStandardWebhook } from '../core/alerts/signatures';

type Header = (name: string) => string | undefined;
type Secrets = Record<'github' | 'standard', string[]>;

export interface Endpoint {
  path: string;
  secret: keyof Secrets;
  /** Throws AlertRejection(401) unless the request is signed; returns the delivery id. */
  verify(raw: Buffer, header: Header, secrets: Secrets): string;
  parse(body: unknown, header: Header): ParsedDelivery;
}

function githubVerify(raw: Buffer, header: Header, secrets: Secrets): string {
  if (!verifyGithubSignature(raw, header('x-hub-signature-256'), secrets.github)) {
    throw new AlertRejection(401, 'X-Hub-Signature-256 does not match any configured secret');
  }
  const delivery = header('x-github-delivery');
  if (!delivery || delivery.length > 200) throw new AlertRejection(400, 'X-GitHub-Delivery: missing or too long', 'X-GitHub-Delivery');
  return `github:${delivery}`;
}

function standardVerify(raw: Buffer, header: Header, secrets: Secrets): string {
  const id = header('webhook-id');
  verifyStandardWebhook(
    raw,
    { id, timestamp: header('webhook-timestamp'), signature: header('webhook-signature') },
    secrets.standard,
    Math.floor(Date.now() / 1000),
  );
  if (!id || id.length > 200) throw new AlertRejection(400, 'webhook-id: missing or too long', 'webhook-id');
  return `webhook:${id}`;
}

export const ENDPOINTS = {
  github: {
    path: '/v1/alerts/github',
    secret: 'github',
    verify: githubVerify,
    parse: (body, header) => parseGithubDelivery(header('x-github-event') ?? '', body),
  },
  osv: { path: '/v1/alerts/osv', secret: 'standard', verify: standardVerify, parse: (body) => parseOsvAlerts(body) },
  audit: { path: '/v1/alerts/audit', secret: 'standard', verify: standardVerify, parse: (body) => parseAuditReport(body) },
  generic: { path: '/v1/alerts', secret: 'standard', verify: standardVerify, parse: (body) => parseGenericAlert(body) },
} satisfies Record<string, Endpoint>;

export type EndpointName = keyof typeof ENDPOINTS;
