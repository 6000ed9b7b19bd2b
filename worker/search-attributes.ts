// The worker's start-up check of the namespace's search attributes. Every incident sets them, and a
// workflow task that sets an undefined one fails, every incident and every retry of it: so the worker
// creates the missing ones where the server lets it (dev and self-hosted servers) and otherwise
// refuses to start with the one command that fixes it.
import type { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { describeTemporalFailure, grpcStatusOf, GrpcStatus, namespaceNotFound, TemporalRefusal, type TemporalTarget } from './temporal-refusal';

interface WantedKey {
  name: string;
  type: SearchAttributeType;
}

/** The part of the operator service this check uses (both the worker's and the client's connection have it). */
export interface SearchAttributeOperator {
  listSearchAttributes(request: { namespace: string }): Promise<{ customAttributes?: Record<string, number> | null; systemAttributes?: Record<string, number> | null }>;
  addSearchAttributes(request: { namespace: string; searchAttributes: Record<string, number> }): Promise<unknown>;
}

/** The Temporal CLI's spelling of each type (`--type Keyword`). */
const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  TEXT: 'Text', KEYWORD: 'Keyword', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList',
};

function indexedValueType(type: SearchAttributeType): number {
  const encoded = encodeSearchAttributeIndexedValueType(type);
  if (encoded === undefined) throw new Error(`no indexed value type for ${type}`);
  return encoded;
}

function typeName(indexed: number): string {
  const type = (Object.keys(CLI_TYPE_NAMES) as SearchAttributeType[]).find((candidate) => indexedValueType(candidate) === indexed);
  return type ? CLI_TYPE_NAMES[type] : `type ${indexed}`;
}

export interface SearchAttributeGap {
  missing: WantedKey[];
  /** Present under the name but of another type: nothing the worker can or should change. */
  wrongType: { key: WantedKey; present: number }[];
}

/** What the namespace lacks, from its listed attributes (pure). */
export function searchAttributeGap(present: Record<string, number>, wanted: readonly WantedKey[] = SEARCH_ATTRIBUTES): SearchAttributeGap {
  const gap: SearchAttributeGap = { missing: [], wrongType: [] };
  for (const key of wanted) {
    const found = Object.hasOwn(present, key.name) ? present[key.name] : undefined;
    if (found === undefined) gap.missing.push(key);
    else if (found !== indexedValueType(key.type)) gap.wrongType.push({ key, present: found });
  }
  return gap;
}

/** The exact command that creates `keys` on the namespace. */
export function createCommand(target: TemporalTarget, keys: readonly WantedKey[]): string {
  const names = keys.map((key) => `--name ${key.name} --type ${CLI_TYPE_NAMES[key.type]}`).join(' ');
  return `temporal operator search-attribute create --address ${target.address} --namespace ${target.namespace} ${names}`;
}

export function wrongTypeLine(target: TemporalTarget, gap: SearchAttributeGap): string {
  const which = gap.wrongType.map(({ key, present }) => `${key.name} is ${typeName(present)}, quarantine needs ${CLI_TYPE_NAMES[key.type]}`).join('; ');
  return `namespace "${target.namespace}" on ${target.address} has search attributes of the wrong type (${which}): a type cannot change in place; use another namespace (TEMPORAL_NAMESPACE) or remove them (temporal operator search-attribute remove --namespace ${target.namespace} --name ...)`;
}

function refusedLine(target: TemporalTarget, missing: readonly WantedKey[], why: string): string {
  return `namespace "${target.namespace}" on ${target.address} lacks the search attributes ${missing.map((key) => key.name).join(', ')} and this worker may not create them (${why}); run: ${createCommand(target, missing)}`;
}

async function listed(operator: SearchAttributeOperator, target: TemporalTarget): Promise<Record<string, number>> {
  const response = await operator.listSearchAttributes({ namespace: target.namespace });
  return { ...(response.systemAttributes ?? {}), ...(response.customAttributes ?? {}) };
}

function isNamespaceMissing(err: unknown): boolean {
  const status = grpcStatusOf(err);
  return status?.code === GrpcStatus.NOT_FOUND && /namespace/i.test(status.details);
}

/** Refusals that mean "not allowed here" (Temporal Cloud, an authorizer), as opposed to "broken". */
function isNotAllowed(err: unknown): boolean {
  const code = grpcStatusOf(err)?.code;
  return code === GrpcStatus.PERMISSION_DENIED || code === GrpcStatus.UNAUTHENTICATED || code === GrpcStatus.UNIMPLEMENTED;
}

export type SearchAttributeCheck =
  | { outcome: 'present' }
  | { outcome: 'created'; names: string[] }
  /** The server would not list them (a namespace-scoped credential): incidents will tell if they are missing. */
  | { outcome: 'unchecked'; reason: string };

/**
 * Makes sure the namespace has every attribute incidents set, of the right type. Throws a
 * TemporalRefusal (one line) when the worker must not start.
 */
export async function ensureSearchAttributes(
  operator: SearchAttributeOperator,
  target: TemporalTarget,
  { settleMs = 30_000, wanted = SEARCH_ATTRIBUTES }: { settleMs?: number; wanted?: readonly WantedKey[] } = {},
): Promise<SearchAttributeCheck> {
  let present: Record<string, number>;
  try {
    present = await listed(operator, target);
  } catch (err) {
    if (isNamespaceMissing(err)) throw new TemporalRefusal(namespaceNotFound(target));
    if (isNotAllowed(err)) return { outcome: 'unchecked', reason: describeTemporalFailure(err, target) ?? String(err) };
    throw new TemporalRefusal(describeTemporalFailure(err, target) ?? `listing the search attributes of "${target.namespace}" failed: ${(err as Error).message}`);
  }
  const gap = searchAttributeGap(present, wanted);
  if (gap.wrongType.length > 0) throw new TemporalRefusal(wrongTypeLine(target, gap));
  if (gap.missing.length === 0) return { outcome: 'present' };

  try {
    await operator.addSearchAttributes({
      namespace: target.namespace,
      searchAttributes: Object.fromEntries(gap.missing.map((key) => [key.name, indexedValueType(key.type)])),
    });
  } catch (err) {
    if (isNotAllowed(err)) throw new TemporalRefusal(refusedLine(target, gap.missing, describeTemporalFailure(err, target) ?? 'refused'));
    // Another worker may have created them a moment ago: the listing below decides.
    if (grpcStatusOf(err)?.code !== GrpcStatus.ALREADY_EXISTS) {
      throw new TemporalRefusal(refusedLine(target, gap.missing, describeTemporalFailure(err, target) ?? (err as Error).message));
    }
  }
  // Some servers (Elasticsearch visibility) apply the addition asynchronously: start once it shows.
  const deadline = Date.now() + settleMs;
  for (;;) {
    const after = searchAttributeGap(await listed(operator, target), wanted);
    if (after.wrongType.length > 0) throw new TemporalRefusal(wrongTypeLine(target, after));
    if (after.missing.length === 0) return { outcome: 'created', names: gap.missing.map((key) => key.name) };
    if (Date.now() > deadline) throw new TemporalRefusal(refusedLine(target, after.missing, `they were still missing ${settleMs} ms after the server accepted them`));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
