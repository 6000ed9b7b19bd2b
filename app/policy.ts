// The containment policy in force: the file QUARANTINE_POLICY names (JSON, docs/policy.md), else the
// safe default. Read where incidents start (the CLI, the intake), so each incident carries the policy
// it started under and its audit trail can name the rule behind every gate.
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY, type Policy } from '../core/playbook/policy';
import { parsePolicyText, PolicyError } from '../core/playbook/policy-file';

export function policyFromEnv(env: NodeJS.ProcessEnv): Policy {
  const file = env.QUARANTINE_POLICY;
  if (!file) return DEFAULT_POLICY;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError(`QUARANTINE_POLICY=${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parsePolicyText(text, `QUARANTINE_POLICY=${file}`);
}
