// POST /v1/sboms: CI sends each release's CycloneDX SBOM as it publishes. Signed like the alert
// webhooks (Standard Webhooks, QUARANTINE_WEBHOOK_SECRETS), validated before anything is indexed, and
// idempotent: the same document again is "unchanged", a new one for the release replaces the old.
//
// The body may be large, so what can be judged without it is judged first: a request without the
// signature headers, or with a stale timestamp, is refused before a byte of its body is read. The
// signature over the body, the validation and the indexing then run in the ingest thread
// (sbom-ingest.ts), never on the event loop that acknowledges alerts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlertRejection } from '../core/alert';
import { STANDARD_WEBHOOK_TOLERANCE_SECONDS, type SbomAnswer, type SbomIngester } from './sbom-ingest';

export const SBOM_PATH = '/v1/sboms';
/** SBOMs are larger than alerts: a big monorepo's runs to a few megabytes. */
export const DEFAULT_SBOM_BODY_LIMIT = 32 * 1024 * 1024;

export interface SbomRouteOptions {
  ingester: SbomIngester;
  bodyLimit: number;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The part of the Standard Webhooks check that needs no body (the same refusals the full check gives). */
export function refuseUnsignedEarly(request: FastifyRequest, nowSeconds: number): void {
  const timestamp = header(request, 'webhook-timestamp');
  if (!header(request, 'webhook-id')) throw new AlertRejection(401, 'missing webhook-id header');
  if (!timestamp) throw new AlertRejection(401, 'missing webhook-timestamp header');
  if (!header(request, 'webhook-signature')) throw new AlertRejection(401, 'missing webhook-signature header');
  if (!/^\d{1,12}$/.test(timestamp)) throw new AlertRejection(401, 'webhook-timestamp is not unix seconds');
  const skew = nowSeconds - Number(timestamp);
  if (skew > STANDARD_WEBHOOK_TOLERANCE_SECONDS) throw new AlertRejection(401, 'webhook-timestamp is too old');
  if (-skew > STANDARD_WEBHOOK_TOLERANCE_SECONDS) throw new AlertRejection(401, 'webhook-timestamp is in the future');
}

function send(reply: FastifyReply, answer: SbomAnswer): FastifyReply {
  if (answer.ok) return reply.code(answer.result.outcome === 'new' ? 201 : 200).send(answer.result);
  if (answer.status === 503) reply.header('retry-after', '5');
  return reply.code(answer.status).send({ error: answer.error, ...(answer.field ? { field: answer.field } : {}) });
}

export function registerSbomRoute(app: FastifyInstance, options: SbomRouteOptions): void {
  app.post<{ Querystring: { release?: string } }>(
    SBOM_PATH,
    {
      bodyLimit: options.bodyLimit,
      onRequest: async (request, reply) => {
        try {
          refuseUnsignedEarly(request, Math.floor(Date.now() / 1000));
        } catch (error) {
          // The body is never read: the connection goes with the answer, so nothing more is uploaded on it.
          reply.header('connection', 'close');
          throw error;
        }
      },
    },
    async (request, reply) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw)) throw new AlertRejection(415, 'send the SBOM as application/json (or application/vnd.cyclonedx+json)');
      const release: unknown = request.query.release;
      if (release !== undefined && typeof release !== 'string') throw new AlertRejection(400, 'release: give it once', 'release');
      const answer = await options.ingester.ingest({
        body: raw,
        headers: { id: header(request, 'webhook-id'), timestamp: header(request, 'webhook-timestamp'), signature: header(request, 'webhook-signature') },
        ...(release !== undefined ? { release } : {}),
      });
      if (answer.ok) request.log.info({ release: answer.result.release, outcome: answer.result.outcome, components: answer.result.components }, 'sbom indexed');
      else request.log.info({ status: answer.status, field: answer.field }, `sbom refused: ${answer.error}`);
      return send(reply, answer);
    },
  );
}
