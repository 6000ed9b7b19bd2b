// POST /v1/sboms: CI sends each release's CycloneDX SBOM as it publishes. Signed like the alert
// webhooks (Standard Webhooks, QUARANTINE_WEBHOOK_SECRETS), validated before anything is indexed, and
// idempotent: the same document again is "unchanged", a new one for the release replaces the old.
import type { FastifyInstance } from 'fastify';
import { AlertRejection } from '../core/alert';
import { verifyStandardWebhook } from '../core/alerts/signatures';
import type { ReleaseIndexWriter } from '../core/release-index';
import { ingestSbom, SbomRejection } from '../core/sbom';
import { InvalidSpecError, parseReleaseSpec } from '../core/spec';

export const SBOM_PATH = '/v1/sboms';
/** SBOMs are larger than alerts: a big monorepo's runs to a few megabytes. */
export const DEFAULT_SBOM_BODY_LIMIT = 32 * 1024 * 1024;

export interface SbomRouteOptions {
  index: ReleaseIndexWriter;
  secrets: string[];
  bodyLimit: number;
}

export function registerSbomRoute(app: FastifyInstance, options: SbomRouteOptions): void {
  app.post<{ Querystring: { release?: string } }>(SBOM_PATH, { bodyLimit: options.bodyLimit }, async (request, reply) => {
    const raw = request.body;
    if (!Buffer.isBuffer(raw)) throw new AlertRejection(415, 'send the SBOM as application/json (or application/vnd.cyclonedx+json)');
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    verifyStandardWebhook(raw, { id: header('webhook-id'), timestamp: header('webhook-timestamp'), signature: header('webhook-signature') }, options.secrets, Math.floor(Date.now() / 1000));
    let release;
    try {
      release = request.query.release === undefined ? undefined : parseReleaseSpec(request.query.release);
    } catch (error) {
      if (error instanceof InvalidSpecError) throw new AlertRejection(400, `release: ${error.message}`, 'release');
      throw error;
    }
    try {
      const result = await ingestSbom(options.index, raw, release ? { release } : {});
      request.log.info({ release: result.release, outcome: result.outcome, components: result.components }, 'sbom indexed');
      return reply.code(result.outcome === 'new' ? 201 : 200).send(result);
    } catch (error) {
      if (error instanceof SbomRejection) throw new AlertRejection(422, error.message, 'body');
      throw error;
    }
  });
}
