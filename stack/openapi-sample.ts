// Test stack only: the smallest body GitHub's OpenAPI description accepts for a response, so that the
// GitHub stand-in fills the dozens of required fields the product never reads (a workflow run carries a
// whole repository) from the schema itself rather than from GitHub's examples, some of which fail it.
// The stand-in then lays its own state over the sample; Prism checks the result against the same schema.
import { readFileSync } from 'node:fs';

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  nullable?: boolean;
  enum?: unknown[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minimum?: number;
  minLength?: number;
}

interface Operation {
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: Schema }> }>;
}

type Spec = { paths: Record<string, Record<string, Operation>> } & Record<string, unknown>;

export const GITHUB_OPENAPI_PATH = require.resolve('@octokit/openapi/generated/api.github.com.json');

let loaded: Spec | undefined;
function spec(): Spec {
  return (loaded ??= JSON.parse(readFileSync(GITHUB_OPENAPI_PATH, 'utf8')) as Spec);
}

function resolve<T>(node: T & { $ref?: string }): T {
  let current: T & { $ref?: string } = node;
  while (current.$ref) current = current.$ref.split('/').slice(1).reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], spec()) as T & { $ref?: string };
  return current;
}

function sample(node: Schema, depth: number): unknown {
  const schema = resolve(node);
  if (schema.nullable) return null;
  if (schema.allOf) {
    const parts = schema.allOf.map((s) => sample(s, depth));
    return parts.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p)) ? Object.assign({}, ...parts) : parts[0];
  }
  if (schema.oneOf?.[0]) return sample(schema.oneOf[0], depth);
  if (schema.anyOf?.[0]) return sample(schema.anyOf[0], depth);
  if (schema.enum) return schema.enum[0];
  if (depth > 12) throw new Error('schema nests deeper than a response should');
  switch (schema.type ?? (schema.properties ? 'object' : undefined)) {
    case 'object':
      return Object.fromEntries((schema.required ?? []).map((key) => [key, sample(schema.properties?.[key] ?? {}, depth + 1)]));
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return schema.minimum ?? 0;
    case 'boolean':
      return false;
    case 'string':
      switch (schema.format) {
        case 'date-time':
          return '2026-01-01T00:00:00Z';
        case 'uri':
          return 'https://github.invalid/';
        case 'email':
          return 'standin@example.invalid';
        default:
          return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
      }
    default:
      return {};
  }
}

const cache = new Map<string, unknown>();

/**
 * The minimal valid JSON body of `method path` answering `status`, as GitHub's OpenAPI description
 * defines it (required fields only; nullable ones null); for a list, one element of it. Throws for an operation or status the
 * description does not have: the stand-in answers only what GitHub documents.
 */
export function minimalResponse(method: string, path: string, status: number): unknown {
  const key = `${method} ${path} ${status}`;
  if (!cache.has(key)) {
    const operation = spec().paths[path]?.[method.toLowerCase()];
    const response = operation?.responses[String(status)];
    if (!response) throw new Error(`GitHub's OpenAPI description has no ${status} for ${method} ${path}`);
    const content = resolve(response).content;
    const schema = content ? Object.values(content)[0]?.schema : undefined;
    if (!schema) throw new Error(`${method} ${path} ${status} has no body in GitHub's OpenAPI description`);
    const resolved = resolve(schema);
    cache.set(key, resolved.type === 'array' ? sample(resolved.items ?? {}, 0) : sample(resolved, 0));
  }
  return structuredClone(cache.get(key));
}
