// `quarantine provenance sync <name>...`: read our packages' npm provenance from the registry, verify
// it offline, and record release -> repository, workflow, commit, run in the release index. Reads the
// registry anonymously: attestations are public, and the token stays with the worker.
import { parseArgs } from 'node:util';
import { ApplicationFailure } from '@temporalio/common';
import validatePackageName from 'validate-npm-package-name';
import { createProvenanceActivities } from '../activities/provenance';
import { createOfflineVerifier } from '../activities/provenance-verify';
import { repoPath } from '../core/blast-radius';
import { releaseKey, type ReleaseProvenance } from '../core/release-index';
import { normalizeRegistryUrl, PUBLIC_NPM_REGISTRY } from '../core/registry-url';
import { printable } from '../core/spec';
import { releaseIndexFile } from '../store/paths';
import { openReleaseIndex } from '../store/sqlite-store';
import { sigstoreTrustFromEnv } from '../worker/config';
import type { Output } from './contain';
import { terminalSafe } from './render';

export const PROVENANCE_USAGE = `usage: quarantine provenance sync <name>... [--registry URL] [--json]
  record each release's provenance (verified, unverified, invalid, or none) in the release index
  trust material: QUARANTINE_SIGSTORE_TRUSTED_ROOT and QUARANTINE_NPM_KEYS (files), else the copy @sigstore/tuf ships`;

function describe(record: ReleaseProvenance): string {
  const where = record.repository ? ` ${repoPath(record.repository)}/${record.workflowPath ?? '?'} run ${record.runId ?? '?'} commit ${(record.commit ?? '?').slice(0, 12)}` : '';
  return `${record.status.padEnd(10)} ${releaseKey(record.release)}${where}${record.reason ? ` (${record.reason})` : ''}`;
}

export async function provenanceCommand(argv: string[], output: Output, env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { registry: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
  } catch (err) {
    output.err(`quarantine provenance: ${terminalSafe((err as Error).message)}\n${PROVENANCE_USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    output.out(PROVENANCE_USAGE);
    return 0;
  }
  const [sub, ...names] = parsed.positionals;
  let registry: string;
  let trust;
  try {
    if (sub !== 'sync' || names.length === 0) throw new Error(PROVENANCE_USAGE);
    for (const name of names) if (!validatePackageName(name).validForOldPackages) throw new Error(`"${printable(name)}" is not an npm package name`);
    registry = normalizeRegistryUrl(parsed.values.registry ?? (env.QUARANTINE_REGISTRY || PUBLIC_NPM_REGISTRY));
    trust = sigstoreTrustFromEnv(env);
  } catch (err) {
    output.err(`quarantine provenance: ${terminalSafe((err as Error).message)}`);
    return 2;
  }

  const provenance = createProvenanceActivities({ registry, verifier: createOfflineVerifier(trust) });
  const index = openReleaseIndex(releaseIndexFile(env));
  const records: ReleaseProvenance[] = [];
  const failures: { name: string; error: string }[] = [];
  try {
    for (const name of names) {
      try {
        const found = await provenance.readPackageProvenance({ name });
        for (const record of found) index.putProvenance(record);
        records.push(...found);
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) throw err;
        failures.push({ name, error: err.message });
      }
    }
  } finally {
    index.close();
  }
  if (parsed.values.json) output.out(JSON.stringify({ records, failures }, null, 2));
  else {
    for (const record of records) output.out(terminalSafe(describe(record)));
    for (const f of failures) output.err(terminalSafe(`failed     ${f.name}: ${f.error}`));
  }
  return failures.length > 0 ? 1 : 0;
}
