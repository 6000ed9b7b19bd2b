// Who signed a SLSA provenance (its Fulcio certificate) against what the provenance claims. A valid
// signature proves only that some GitHub workflow signed: any workflow can get a certificate and sign a
// statement naming our repository. The claims count only when the certificate was issued to the build
// they name. Pure: the certificate is parsed in activities/provenance-verify.ts.
import type { ProvenanceFacts } from './provenance';

export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** Fulcio certificate extensions, https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md */
export const FULCIO_OID = {
  /** 1.1 to 1.6: deprecated GitHub-specific extensions, raw strings; still issued alongside the rest. */
  issuerV1: '1.3.6.1.4.1.57264.1.1',
  githubWorkflowTrigger: '1.3.6.1.4.1.57264.1.2',
  githubWorkflowSha: '1.3.6.1.4.1.57264.1.3',
  githubWorkflowName: '1.3.6.1.4.1.57264.1.4',
  githubWorkflowRepository: '1.3.6.1.4.1.57264.1.5',
  githubWorkflowRef: '1.3.6.1.4.1.57264.1.6',
  /** 1.8 onwards: DER UTF8Strings. */
  issuer: '1.3.6.1.4.1.57264.1.8',
  buildSignerUri: '1.3.6.1.4.1.57264.1.9',
  buildSignerDigest: '1.3.6.1.4.1.57264.1.10',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryUri: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  buildConfigUri: '1.3.6.1.4.1.57264.1.18',
  buildConfigDigest: '1.3.6.1.4.1.57264.1.19',
  runInvocationUri: '1.3.6.1.4.1.57264.1.21',
} as const;

const LEGACY = new Set<string>([
  FULCIO_OID.issuerV1,
  FULCIO_OID.githubWorkflowTrigger,
  FULCIO_OID.githubWorkflowSha,
  FULCIO_OID.githubWorkflowName,
  FULCIO_OID.githubWorkflowRepository,
  FULCIO_OID.githubWorkflowRef,
]);

/** Whether the extension's value is a raw string (1.1 to 1.6) rather than a DER UTF8String. */
export const isRawFulcioExtension = (oid: string): boolean => LEGACY.has(oid);

/** The identity a signing certificate was issued to. */
export interface SignerIdentity {
  /** The SAN: for GitHub Actions, `https://github.com/<owner>/<repo>/<workflow path>@<ref>` of the signing workflow. */
  subjectAlternativeName?: string;
  /** Fulcio extensions present in the certificate (FULCIO_OID values), as text. */
  extensions: Readonly<Record<string, string>>;
}

/**
 * Why the certificate does not vouch for the facts, or undefined when it does: the issuer is GitHub
 * Actions and the certificate's workflow, repository, commit, ref and run are the provenance's.
 */
export function identityMismatch(identity: SignerIdentity | undefined, facts: ProvenanceFacts): string | undefined {
  if (!identity) return 'the provenance is not signed with a certificate: no build identity vouches for its claims';
  const ext = identity.extensions;
  const san = identity.subjectAlternativeName;
  const differences: string[] = [];
  const compare = (what: string, actual: string | undefined, expected: string) => {
    if (actual === undefined) differences.push(`the certificate names no ${what}`);
    else if (actual !== expected) differences.push(`certificate ${what} ${actual} does not match the provenance's ${expected}`);
  };

  const issuer = ext[FULCIO_OID.issuer] ?? ext[FULCIO_OID.issuerV1];
  if (issuer === undefined) differences.push('the certificate names no OIDC issuer');
  else if (issuer !== GITHUB_ACTIONS_ISSUER) differences.push(`certificate issuer ${issuer} is not GitHub Actions (${GITHUB_ACTIONS_ISSUER})`);

  // A reusable workflow signs with its own SAN (the build signer); the calling workflow, which the
  // provenance names, is then the Build Config URI. Certificates from before 1.18 have only the SAN.
  const workflow = `${facts.repository}/${facts.workflowPath}@${facts.ref}`;
  const config = ext[FULCIO_OID.buildConfigUri];
  if ((config ?? san) !== workflow) {
    if (config !== undefined && config !== san) differences.push(`certificate build config ${config} (signer ${san ?? 'unnamed'}) does not match the provenance's ${workflow}`);
    else differences.push(`certificate identity ${san ?? '(no SAN)'} does not match the provenance's ${workflow}`);
  }

  const legacyRepository = ext[FULCIO_OID.githubWorkflowRepository];
  compare('source repository', ext[FULCIO_OID.sourceRepositoryUri] ?? (legacyRepository === undefined ? undefined : `https://github.com/${legacyRepository}`), facts.repository);
  compare('commit', ext[FULCIO_OID.sourceRepositoryDigest] ?? ext[FULCIO_OID.githubWorkflowSha], facts.commit);
  compare('ref', ext[FULCIO_OID.sourceRepositoryRef] ?? ext[FULCIO_OID.githubWorkflowRef], facts.ref);
  // Certificates from before Fulcio issued 1.21 name no run; the checks above still bind them.
  const run = ext[FULCIO_OID.runInvocationUri];
  if (run !== undefined) compare('run', run, `${facts.repository}/actions/runs/${facts.runId}/attempts/${facts.runAttempt}`);

  return differences.length > 0 ? differences.join('; ') : undefined;
}
