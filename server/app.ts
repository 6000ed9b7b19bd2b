// `quarantine serve`: alert webhooks in, incidents out. Each request is verified over its raw body,
// parsed into normalised alerts, routed to incidents (duplicates and aliases joining the one they
// have), journalled durably, and only then answered; the drainer moves the journal into Temporal.
import { createHash } from 'node:crypto';
import { createHistogram } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { AlertRejection, type NormalizedAlert } from '../core/alert';
import { isContainmentRoute, routeAlert } from '../core/intake';
import type { ParsedDelivery } from '../core/alerts/parse-result';
import { approvalsPlugin, type ApprovalsOptions } from './approvals';
import { timelineViewPlugin, type TimelineViewOptions } from './timeline-view';
import { deliveryLimitProblem, type Drainer } from './drainer';
import type { ENDPOINTS, EndpointName } from './endpoints';
import type { IncidentIndex } from './incident-index';
import { JournalUnavailable, type Journal } from './journal';
import { DEFAULT_SBOM_BODY_LIMIT, registerSbomRoute } from './sboms';
import type { SbomIngester } from './sbom-ingest';

export interface IntakeConfig {
  registry: string;
  owned: string[];
  secrets: Record<'github' | 'standard', string[]>;
  bodyLimit: number;
  /** Body limit of POST /v1/sboms. */
  sbomBodyLimit?: number;
}

export interface IntakeDeps {
  config: IntakeConfig;
  endpoints: typeof ENDPOINTS;
  journal: Journal;
  index: IncidentIndex;
  drainer: Drainer;
  /** What POST /v1/sboms hands SBOMs to (server/sbom-ingest.ts); without it the route is not served. */
  sboms?: SbomIngester;
  /** Decisions over /api (server/approvals.ts); without users they answer 503 and say how to turn them on. */
  approvals?: ApprovalsOptions;
  /** The audit timeline view (server/timeline-view.ts), behind the same login; without users it answers 503. */
  timelineView?: TimelineViewOptions;
  logger?: boolean | Record<string, unknown>;
  /** The process's event-loop delay and GC pauses since the last /readyz (reading resets them). */
  runtimeTimings?: () => Record<string, unknown>;
}

export interface AlertAnswer {
  delivery: string;
  duplicate?: boolean;
  ignored?: string;
  incidents: { incident: string; new: boolean; kind: string }[];
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses the verified raw body; prototype keys are dropped, never assigned. */
function parseJson(raw: Buffer): unknown {
  try {
    return sjson.parse(raw.toString('utf8'), undefined, { protoAction: 'remove', constructorAction: 'remove' });
  } catch {
    throw new AlertRejection(400, 'body: not valid JSON', 'body');
  }
}

/** The key under which a delivery is remembered by its body (GitHub), in the same index as delivery ids. */
export function bodyDeliveryKey(source: string, bodySha256: string): string {
  return `${source}-body:${bodySha256}`;
}

/**
 * Never written to a log, whatever a log line is later given: credentials and one-time passwords. No
 * line logs a request's headers or body today; this holds should one start to.
 */
export const REDACTED_LOG_PATHS = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'otp', '*.otp', 'password', '*.password'];

function loggerOptions(logger: IntakeDeps['logger']): boolean | Record<string, unknown> {
  if (!logger) return false;
  return { redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' }, ...(logger === true ? {} : logger) };
}

export function buildIntakeServer(deps: IntakeDeps): FastifyInstance {
  const { config, journal, index, drainer } = deps;
  const app = Fastify({
    logger: loggerOptions(deps.logger),
    // One line per delivery (accepted, rejected or ignored, with its delivery id) instead of three.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimit,
    // Delivery ids become the request ids (reqId) in every log line.
    genReqId: (req) => {
      const id = req.headers['x-github-delivery'] ?? req.headers['webhook-id'];
      return (typeof id === 'string' && id.length <= 200 ? id : undefined) ?? `req-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    },
  });
  // The signature is over the exact bytes: keep them, parse only after verification.
  const keepRaw = (_req: FastifyRequest, body: string | Buffer, done: (err: null, body: Buffer | string) => void): void => done(null, body);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, keepRaw);
  // application/vnd.cyclonedx+json and the like: the SBOM route is signed over raw bytes too.
  app.addContentTypeParser(/^application\/[a-z0-9.-]+\+json$/i, { parseAs: 'buffer' }, keepRaw);

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof JournalUnavailable) {
      request.log.error({ err: error }, 'not accepted: the journal is not writable');
      return reply.code(503).header('retry-after', '5').send({ error: 'the intake cannot store alerts right now; nothing was accepted, send it again' });
    }
    if (error instanceof AlertRejection) {
      request.log.info({ status: error.status, field: error.field }, `rejected: ${error.message}`);
      return reply.code(error.status).send({ error: error.message, ...(error.field ? { field: error.field } : {}) });
    }
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send({ error: `body larger than ${request.routeOptions.bodyLimit ?? config.bodyLimit} bytes` });
    if (status === 415) return reply.code(415).send({ error: 'send application/json' });
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, 'intake failed');
    return reply.code(500).send({ error: 'internal error; the alert was not accepted, send it again' });
  });

  // How long the server itself took to answer alert deliveries (from its headers read to its answer
  // written), in microseconds: a sender's latency beyond this was spent in its own process or the kernel.
  const acknowledgements = createHistogram();
  const arrivals = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (request) => {
    if (request.method === 'POST') arrivals.set(request, performance.now());
  });
  app.addHook('onResponse', async (request) => {
    const arrived = arrivals.get(request);
    if (arrived !== undefined) acknowledgements.record(Math.max(1, Math.round((performance.now() - arrived) * 1000)));
  });
  const acknowledgementStats = () => {
    const ms = (micros: number) => Number((micros / 1000).toFixed(1));
    const stats = { count: acknowledgements.count, p50: ms(acknowledgements.percentile(50)), p99: ms(acknowledgements.percentile(99)), max: ms(acknowledgements.max) };
    acknowledgements.reset();
    return stats;
  };

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    // Acknowledgements depend on the journal; a Temporal outage shows as a growing backlog, and
    // reports Temporal refused for good as dead letters (a person reads them; alerts still flow).
    const journalState = journal.state;
    const ready = journalState.acknowledging && drainer.consecutiveFailures < 10;
    return reply.code(ready ? 200 : 503).send({
      ready,
      backlog: drainer.backlog,
      deliveryFailures: drainer.consecutiveFailures,
      deadLetters: drainer.deadLetters,
      journal: journalState,
      // Where an acknowledgement's time went since the last /readyz: the disk, or a busy event loop.
      sinceLastReadMs: {
        acknowledgement: acknowledgementStats(),
        journalCommit: journal.commitStatsSinceLastRead(),
        ...deps.runtimeTimings?.(),
      },
    });
  });

  async function accept(
    request: FastifyRequest,
    reply: FastifyReply,
    source: string,
    deliveryId: string,
    parsed: ParsedDelivery,
    bodySha256: string | undefined,
  ): Promise<FastifyReply> {
    const bodyKey = bodySha256 === undefined ? undefined : bodyDeliveryKey(source, bodySha256);
    const seen = index.delivery(deliveryId) ?? (bodyKey === undefined ? undefined : index.delivery(bodyKey));
    if (seen) {
      request.log.info({ incidents: seen }, 'redelivery: nothing new started');
      const answer: AlertAnswer = { delivery: deliveryId, duplicate: true, incidents: seen.map((incident) => ({ incident, new: false, kind: 'seen' })) };
      return reply.code(200).send(answer);
    }
    if (parsed.outcome === 'ignored') {
      request.log.info({ reason: parsed.reason }, 'recorded, nothing started');
      return reply.code(202).send({ delivery: deliveryId, ignored: parsed.reason, incidents: [] } satisfies AlertAnswer);
    }
    const receivedAt = new Date().toISOString();
    const routes = parsed.alerts.flatMap((alert: NormalizedAlert, i) =>
      routeAlert(alert, { owned: config.owned, registry: config.registry, deliveryId: `${deliveryId}/${i}`, receivedAt }),
    );
    // Refused here, with nothing journalled, rather than refused by Temporal after the 202.
    const problem = deliveryLimitProblem(routes);
    if (problem) throw new AlertRejection(422, problem);
    const assignments = index.assign(routes);
    let entry;
    try {
      entry = await journal.append({ deliveryId, source, receivedAt, ...(bodySha256 === undefined ? {} : { bodySha256 }), routes: assignments.map((a) => a.route) });
    } catch (err) {
      throw err instanceof JournalUnavailable ? err : new JournalUnavailable((err as Error).message);
    }
    const incidents = entry.routes.map((r) => r.incident);
    index.recordDelivery(deliveryId, incidents);
    if (bodyKey !== undefined) index.recordDelivery(bodyKey, incidents);
    drainer.enqueue(entry);
    const answer: AlertAnswer = {
      delivery: deliveryId,
      incidents: assignments.map(({ route, isNew }) => ({
        incident: route.incident,
        new: isNew,
        kind: isContainmentRoute(route) ? 'containment' : route.request.kind,
      })),
    };
    request.log.info({ incidents: answer.incidents }, 'accepted');
    return reply.code(202).send(answer);
  }

  for (const [name, endpoint] of Object.entries(deps.endpoints) as [EndpointName, (typeof ENDPOINTS)[EndpointName]][]) {
    app.post(endpoint.path, async (request, reply) => {
      const raw = request.body;
      if (!Buffer.isBuffer(raw)) throw new AlertRejection(415, 'send application/json with a body');
      const deliveryId = endpoint.verify(raw, (n) => header(request, n), config.secrets);
      const parsed = endpoint.parse(parseJson(raw), (n) => header(request, n));
      // The GitHub signature covers the body only: the same body under another delivery id is a replay.
      const bodySha256 = endpoint.secret === 'github' ? createHash('sha256').update(raw).digest('hex') : undefined;
      return accept(request, reply, name, deliveryId, parsed, bodySha256);
    });
  }
  if (deps.sboms) registerSbomRoute(app, { ingester: deps.sboms, bodyLimit: config.sbomBodyLimit ?? DEFAULT_SBOM_BODY_LIMIT });
  // Encapsulated: its authentication, content-type rule and error handler stay on its own routes.
  app.register(approvalsPlugin, { prefix: '/api', ...deps.approvals });
  app.register(timelineViewPlugin, { ...deps.timelineView });
  return app;
}
