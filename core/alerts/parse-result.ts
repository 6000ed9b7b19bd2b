// What a parser answers: alerts to record, or a reason the delivery is none of our business.
// Anything malformed is thrown as an AlertRejection(400) that names the offending field.
import type { z } from 'zod';
import { AlertRejection, type NormalizedAlert } from '../alert';
import { printable } from '../spec';
import { LIMITS } from './validate';

export type ParsedDelivery = { outcome: 'alerts'; alerts: NormalizedAlert[] } | { outcome: 'ignored'; reason: string };

export function ignored(reason: string): ParsedDelivery {
  return { outcome: 'ignored', reason };
}

export function found(alerts: NormalizedAlert[], noneReason: string): ParsedDelivery {
  if (alerts.length === 0) return ignored(noneReason);
  if (alerts.length > LIMITS.alertsPerBatch) {
    throw rejectField([], `at most ${LIMITS.alertsPerBatch} alerts per delivery`);
  }
  return { outcome: 'alerts', alerts };
}

/** `alert.dependency.package.name`; keys come from the payload, so they are shown escaped. */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.map((key) => (typeof key === 'number' ? String(key) : printable(String(key)))).join('.');
}

export function rejectionFromZod(error: z.ZodError, prefix: readonly PropertyKey[] = []): AlertRejection {
  const issue = error.issues[0];
  if (!issue) return rejectField(prefix, 'invalid');
  // An unknown key is reported on its object; naming the key itself points at the typo.
  const extra = issue.code === 'unrecognized_keys' ? issue.keys.slice(0, 1) : [];
  return rejectField([...prefix, ...issue.path, ...extra], issue.code === 'unrecognized_keys' ? 'unknown field' : issue.message);
}

export function rejectField(path: readonly PropertyKey[], message: string): AlertRejection {
  const field = fieldPath(path);
  return new AlertRejection(400, `${field}: ${message}`, field);
}

/** zod's parse with our refusal: the parsers' one way in. */
export function parseOrReject<S extends z.ZodType>(schema: S, body: unknown, prefix: readonly PropertyKey[] = []): z.output<S> {
  const result = schema.safeParse(body);
  if (!result.success) throw rejectionFromZod(result.error, prefix);
  return result.data;
}
