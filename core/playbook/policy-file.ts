// Reads a containment policy (JSON, documented in docs/policy.md) into a Policy: validated with zod,
// merged over the safe default, with one clear line for the first thing wrong. Kept apart from
// policy.ts so that workflow code, which only needs the data, does not bundle the validator.
import { z } from 'zod';
import { GITHUB_ACTION_KINDS } from '../github/action';
import { DEFAULT_GITHUB_POLICY, GITHUB_ALWAYS_GATED, type GithubPolicy } from '../github/policy';
import { parseRepository, workflowFile } from '../github/repository';
import { NPM_ACTION_KINDS, type NpmActionKind } from './action';
import { ALWAYS_GATED, DEFAULT_POLICY, OTP_ACTIONS, TRIGGERS, type Policy, type Trigger, type TriggerPolicy } from './policy';

export class PolicyError extends Error {}

const actionRule = z.enum(['auto', 'approval', 'off']);
const actionKind = z.enum(NPM_ACTION_KINDS);

const githubKind = z.enum(GITHUB_ACTION_KINDS);

const githubSection = z.strictObject({
  triggers: z.partialRecord(z.enum(TRIGGERS as [Trigger, ...Trigger[]]), z.partialRecord(githubKind, actionRule)).optional(),
  repositories: z
    .record(
      z.string().min(1).max(214),
      z.strictObject({
        repository: z.string().refine((r) => /^[^/\s]+\/[^/\s]+$/.test(r) && parseRepository(`github:${r}`) !== undefined, 'owner/repo'),
        workflow: z.string().refine((w) => workflowFile(w) !== undefined, 'a workflow file name (release.yml) or .github/workflows/<file>').optional(),
      }),
    )
    .optional(),
  caches: z.strictObject({ keyPrefix: z.string().min(1).max(512), refPrefix: z.string().min(1).max(255) }).partial().optional(),
  cancelGraceSeconds: z.number().int().min(0).max(3600).optional(),
  timelineUrl: z.url({ protocol: /^https?$/ }).optional(),
  issueLabels: z.array(z.string().min(1).max(50)).max(10).optional(),
  host: z.string().regex(/^[a-z0-9.-]+(:\d+)?$/i, 'a host name (github.com, or your GitHub Enterprise Server)').optional(),
});

const triggerPolicy = z.strictObject({
  minSeverity: z.enum(['unknown', 'low', 'moderate', 'high', 'critical']).optional(),
  actions: z.partialRecord(actionKind, actionRule).optional(),
});

const policyFile = z.strictObject({
  version: z.literal(1),
  triggers: z.partialRecord(z.enum(TRIGGERS as [Trigger, ...Trigger[]]), triggerPolicy).optional(),
  approvers: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$/, 'a user name: letters, digits, . _ @ -'),
        may: z.array(z.union([actionKind, githubKind, z.literal('all')])).min(1),
      }),
    )
    .max(200)
    .optional(),
  approval: z.strictObject({ timeoutMinutes: z.number().int().min(1).max(7 * 24 * 60), onTimeout: z.enum(['escalate', 'skip']) }).partial().optional(),
  limits: z.strictObject({ versionsPerPackage: z.number().int().min(1).max(10_000), packagesPerIncident: z.number().int().min(1).max(10_000) }).partial().optional(),
  otp: z.strictObject({ actionsPerWindow: z.number().int().min(1).max(1_000), windowMinutes: z.number().int().min(1).max(60) }).partial().optional(),
  github: githubSection.optional(),
});

function githubPolicy(given: z.infer<typeof githubSection> | undefined): GithubPolicy {
  const base = DEFAULT_GITHUB_POLICY;
  const triggers = { ...base.triggers };
  for (const [trigger, rules] of Object.entries(given?.triggers ?? {}) as [Trigger, GithubPolicy['triggers'][Trigger]][]) {
    const merged = { ...base.triggers[trigger], ...rules };
    for (const kind of GITHUB_ALWAYS_GATED) {
      if (merged[kind] === 'auto') throw new PolicyError(`policy github.triggers.${trigger}.${kind}: a published advisory is public and cannot be taken back; use "approval" or "off"`);
    }
    if (trigger === 'vulnerability' && Object.values(merged).some((rule) => rule !== 'off')) {
      throw new PolicyError('policy github.triggers.vulnerability: a vulnerability is recorded, never acted on; every action stays "off"');
    }
    triggers[trigger] = merged;
  }
  return {
    triggers,
    repositories: given?.repositories ?? base.repositories,
    caches: given?.caches ?? base.caches,
    cancelGraceSeconds: given?.cancelGraceSeconds ?? base.cancelGraceSeconds,
    issueLabels: given?.issueLabels ?? base.issueLabels,
    host: given?.host?.toLowerCase() ?? base.host,
    ...(given?.timelineUrl ? { timelineUrl: given.timelineUrl } : {}),
  };
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
}

/** A policy from parsed JSON; throws PolicyError naming the first bad field. */
export function parsePolicy(json: unknown): Policy {
  const result = policyFile.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const extra = issue.code === 'unrecognized_keys' ? `: unknown field ${issue.keys[0]}` : `: ${issue.message}`;
    throw new PolicyError(`policy ${fieldPath(issue.path)}${extra}`);
  }
  const file = result.data;
  const triggers = { ...DEFAULT_POLICY.triggers } as Record<Trigger, TriggerPolicy>;
  for (const [trigger, given] of Object.entries(file.triggers ?? {}) as [Trigger, z.infer<typeof triggerPolicy>][]) {
    const base = DEFAULT_POLICY.triggers[trigger];
    const actions = { ...base.actions, ...(given.actions ?? {}) };
    for (const [kind, rule] of Object.entries(actions) as [NpmActionKind, string][]) {
      if (rule !== 'auto') continue;
      if (ALWAYS_GATED.includes(kind)) throw new PolicyError(`policy triggers.${trigger}.actions.${kind}: ${kind} always waits for a person; use "approval" or "off"`);
      if (OTP_ACTIONS.includes(kind)) throw new PolicyError(`policy triggers.${trigger}.actions.${kind}: npm asks a one-time password for ${kind}, which only a person can give; use "approval" or "off"`);
    }
    if (trigger === 'vulnerability' && Object.values(actions).some((rule) => rule !== 'off')) {
      throw new PolicyError('policy triggers.vulnerability.actions: a vulnerability is recorded, never written; every action stays "off"');
    }
    triggers[trigger] = { minSeverity: given.minSeverity ?? base.minSeverity, actions };
  }
  return {
    version: 1,
    triggers,
    approvers: file.approvers ?? DEFAULT_POLICY.approvers,
    approval: { ...DEFAULT_POLICY.approval, ...file.approval },
    limits: { ...DEFAULT_POLICY.limits, ...file.limits },
    otp: { ...DEFAULT_POLICY.otp, ...file.otp },
    github: githubPolicy(file.github),
  };
}

/** A policy from a file's text (QUARANTINE_POLICY); `source` names the file in errors. */
export function parsePolicyText(text: string, source: string): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return parsePolicy(json);
  } catch (err) {
    throw new PolicyError(`${source}: ${(err as Error).message}`);
  }
}
