// Temporal's refusals (gRPC status codes, SDK errors, transport failures) as one line a person can act
// on. It reads only the errors' fields, never imports Temporal, so the CLI can word an error without
// loading the client, and the worker and the CLI say the same thing about the same refusal.
import { printable } from '../core/spec';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

/** A refusal already worded for a person (one line): the CLI prints it as is and exits with REFUSED_EXIT_CODE. */
export class TemporalRefusal extends Error {
  override name = 'TemporalRefusal';
}

/** Exit status of every command that could not reach Temporal or that Temporal refused. */
export const REFUSED_EXIT_CODE = 5;

const GRPC_STATUS_NAMES: Record<number, string> = {
  1: 'CANCELLED', 2: 'UNKNOWN', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED', 9: 'FAILED_PRECONDITION', 10: 'ABORTED', 11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 15: 'DATA_LOSS', 16: 'UNAUTHENTICATED',
};

export const GrpcStatus = {
  DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

interface ErrorFields {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  details?: unknown;
  cause?: unknown;
}

function fields(err: unknown): ErrorFields {
  return typeof err === 'object' && err !== null ? (err as ErrorFields) : { message: String(err) };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One terminal-safe line, bounded: server and workflow text can carry an alert's content. */
function clip(line: string, max = 400): string {
  const single = line.replace(/\s+/g, ' ').trim().replace(UNSAFE, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return single.length > max ? `${single.slice(0, max - 1)}…` : single;
}

/** The gRPC status of an error or of the first cause that has one (the SDK wraps them in ServiceError). */
export function grpcStatusOf(err: unknown): { code: number; details: string } | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const { code, details, message, cause } = fields(current);
    if (typeof code === 'number' && GRPC_STATUS_NAMES[code] !== undefined) {
      // grpc-js puts "5 NOT_FOUND: <details>" in the message, the native client the details alone; the
      // client rewrites the message (not the details) with the failed operation's own of an Update-with-Start.
      const plain = text(message).replace(/^\d+ [A-Z_]+: /, '') || text(details);
      return { code, details: plain };
    }
    current = cause;
  }
  return undefined;
}

function causeMessages(err: unknown): string {
  const messages: string[] = [];
  let current: unknown = fields(err).cause;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const message = text(fields(current).message);
    if (message && !messages.includes(message)) messages.push(message);
    current = fields(current).cause;
  }
  return messages.join(': ');
}

function unreachable(target: TemporalTarget, why: string): string {
  return `cannot reach Temporal at ${target.address} (${why}): is the server running, and are TEMPORAL_ADDRESS and the TLS settings right?`;
}

/** The namespace is missing: what to run (or set) instead. */
export function namespaceNotFound(target: TemporalTarget): string {
  return `Temporal at ${target.address} has no namespace "${printable(target.namespace)}": create it (temporal operator namespace create --address ${target.address} --namespace ${printable(target.namespace)}) or set TEMPORAL_NAMESPACE`;
}

/**
 * Words a Temporal error as one line, or returns undefined when it is not one of Temporal's (a bug
 * of ours is better reported as itself).
 */
export function describeTemporalFailure(err: unknown, target: TemporalTarget): string | undefined {
  if (err instanceof TemporalRefusal) return err.message;
  const { name, message } = fields(err);
  const errorName = text(name);
  const errorMessage = text(message);

  // Transport failures come before any status: the TypeScript client's deadline, the native client's tonic error.
  if (errorMessage === 'Failed to connect before the deadline') return unreachable(target, 'no connection before the deadline');
  if (errorName === 'TransportError') {
    const why = /refused/i.test(errorMessage) ? 'connection refused'
      : /dns|resolve|lookup/i.test(errorMessage) ? 'unknown host'
      : /tls|certificate|handshake/i.test(errorMessage) ? 'TLS handshake failed'
      : 'transport error';
    return unreachable(target, why);
  }

  if (errorName === 'WorkflowUpdateFailedError') {
    return clip(`the incident refused the report: ${causeMessages(err) || errorMessage}`);
  }
  if (errorName === 'WorkflowFailedError') {
    return clip(`the incident's workflow failed: ${causeMessages(err) || errorMessage}`);
  }
  if (errorName === 'WorkflowUpdateRPCTimeoutOrCancelledError') {
    return clip(`Temporal at ${target.address} did not answer the report in time: ${errorMessage}`);
  }
  if (errorName === 'QueryNotRegisteredError' || errorName === 'QueryRejectedError') {
    return clip(`the incident could not answer the query: ${errorMessage}`);
  }
  if (errorName === 'WorkflowExecutionAlreadyStartedError') return clip(`the incident is already running: ${errorMessage}`);
  if (errorName === 'NamespaceNotFoundError') return namespaceNotFound(target);
  // The SDK turns every NOT_FOUND into WorkflowNotFoundError, a missing namespace included.
  if (errorName === 'WorkflowNotFoundError' && /^Namespace .* not found/i.test(errorMessage)) return namespaceNotFound(target);

  const status = grpcStatusOf(err);
  if (status === undefined) return undefined;
  const details = status.details || errorMessage;
  switch (status.code) {
    case GrpcStatus.UNAVAILABLE:
      return clip(unreachable(target, details || 'unavailable'));
    case GrpcStatus.NOT_FOUND:
      if (/^Namespace .* not found/i.test(details)) return namespaceNotFound(target);
      return clip(`Temporal at ${target.address} found no such thing: ${details}`);
    case GrpcStatus.PERMISSION_DENIED:
    case GrpcStatus.UNAUTHENTICATED:
      return clip(`Temporal at ${target.address} refused namespace "${target.namespace}": ${GRPC_STATUS_NAMES[status.code]!.toLowerCase().replace('_', ' ')} (${details}); check TEMPORAL_API_KEY, the TLS client certificate and the namespace's permissions`);
    case GrpcStatus.DEADLINE_EXCEEDED:
      return clip(`Temporal at ${target.address} did not answer in time: ${details}`);
    case GrpcStatus.RESOURCE_EXHAUSTED:
      return clip(`Temporal at ${target.address} is rate-limiting or over a limit: ${details}`);
    case GrpcStatus.FAILED_PRECONDITION:
      if (/workflow task failure/i.test(details)) {
        return clip(`the incident's workflow task failed on the worker (its log says why; a worker that cannot set the incident search attributes fails this way): ${details}`);
      }
      return clip(`Temporal at ${target.address} refused: ${details}`);
    default:
      return clip(`Temporal at ${target.address} refused (${GRPC_STATUS_NAMES[status.code]}): ${details}`);
  }
}
