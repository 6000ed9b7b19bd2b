// npm attestations: decode what `GET /-/npm/v1/attestations/<name>@<version>` returns, read the build
// facts out of a SLSA provenance statement, and check that a statement's subject is the release.
// Pure: no I/O, no signature checks (those are in activities/provenance-verify.ts). Decoding a
// statement says nothing about whether it is signed; a caller trusts facts only after verifyBundle,
// and only those the signing certificate vouches for (core/provenance-identity.ts identityMismatch).
import { z } from 'zod';

export const PUBLISH_PREDICATE = 'https://github.com/npm/attestation/tree/main/specs/publish/v0.1';
export const SLSA_V1_PREDICATE = 'https://slsa.dev/provenance/v1';
export const SLSA_V02_PREDICATE = 'https://slsa.dev/provenance/v0.2';
const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export class ProvenanceError extends Error {
  override readonly name = 'ProvenanceError';
}

const nonEmpty = z.string().min(1);

const subjectSchema = z.object({
  name: nonEmpty,
  digest: z.record(z.string(), z.string()),
});

const statementSchema = z.object({
  _type: z.string().startsWith('https://in-toto.io/Statement/'),
  subject: z.array(subjectSchema).min(1),
  predicateType: nonEmpty,
  predicate: z.unknown(),
});

export type InTotoSubject = z.infer<typeof subjectSchema>;
export type InTotoStatement = z.infer<typeof statementSchema>;

const responseSchema = z.object({
  attestations: z.array(
    z.object({
      predicateType: nonEmpty,
      bundle: z.object({
        dsseEnvelope: z.object({
          payload: nonEmpty,
          payloadType: nonEmpty,
        }),
      }).loose(),
    }),
  ),
});

export interface DecodedAttestation {
  predicateType: string;
  statement: InTotoStatement;
  subjects: InTotoSubject[];
  /** The Sigstore bundle as received, for verifyBundle. */
  bundle: unknown;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeStatement(payload: string, where: string): InTotoStatement {
  if (payload.length % 4 !== 0 || !BASE64.test(payload)) {
    throw new ProvenanceError(`${where}: DSSE payload is not base64`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    throw new ProvenanceError(`${where}: DSSE payload is not JSON`);
  }
  const parsed = statementSchema.safeParse(json);
  if (!parsed.success) throw new ProvenanceError(`${where}: not an in-toto statement: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Decodes an npm attestations API response; throws ProvenanceError on anything malformed. */
export function decodeAttestations(response: unknown): DecodedAttestation[] {
  const parsed = responseSchema.safeParse(response);
  if (!parsed.success) throw new ProvenanceError(`malformed attestations response: ${describe(parsed.error)}`);
  const raw = response as { attestations: { bundle: unknown }[] };
  return parsed.data.attestations.map((a, i) => {
    const where = `attestations[${i}] (${a.predicateType})`;
    const envelope = a.bundle.dsseEnvelope;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw new ProvenanceError(`${where}: DSSE payloadType is ${envelope.payloadType}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
    }
    const statement = decodeStatement(envelope.payload, where);
    if (statement.predicateType !== a.predicateType) {
      throw new ProvenanceError(`${where}: statement predicateType ${statement.predicateType} differs from the attestation's`);
    }
    return { predicateType: a.predicateType, statement, subjects: statement.subject, bundle: raw.attestations[i]?.bundle };
  });
}

export interface NpmSubject {
  name: string;
  version: string;
}

/** `pkg:npm/%40scope/name@1.2.3` → { name: '@scope/name', version: '1.2.3' }, or null. */
export function parseNpmPurl(purl: string): NpmSubject | null {
  const prefix = 'pkg:npm/';
  if (!purl.startsWith(prefix)) return null;
  const rest = purl.slice(prefix.length).split(/[?#]/)[0] ?? '';
  const at = rest.lastIndexOf('@');
  if (at <= 0 || at === rest.length - 1) return null;
  try {
    const name = decodeURIComponent(rest.slice(0, at));
    const version = decodeURIComponent(rest.slice(at + 1));
    // A scoped name has its '@' only at the start; a literal '@' elsewhere is not a package name.
    if (name.lastIndexOf('@') > 0) return null;
    return { name, version };
  } catch {
    return null;
  }
}

export interface ProvenanceFacts {
  predicateType: typeof SLSA_V1_PREDICATE | typeof SLSA_V02_PREDICATE;
  /** e.g. https://github.com/owner/repo */
  repository: string;
  /** e.g. .github/workflows/release.yml */
  workflowPath: string;
  /** e.g. refs/heads/main or refs/tags/v1.0.1 */
  ref: string;
  commit: string;
  runId: string;
  runAttempt: string;
  builderId: string;
  subject: NpmSubject;
}

const gitCommit = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-hex git commit');
const digits = z.string().regex(/^[0-9]+$/, 'digits');

const slsaV1Schema = z.object({
  buildDefinition: z.object({
    externalParameters: z.object({
      workflow: z.object({ ref: nonEmpty, repository: z.url(), path: nonEmpty }),
    }),
    resolvedDependencies: z.array(z.object({ uri: z.string().optional(), digest: z.object({ gitCommit }) })).min(1),
  }),
  runDetails: z.object({
    builder: z.object({ id: nonEmpty }),
    metadata: z.object({ invocationId: z.url() }),
  }),
});

const slsaV02Schema = z.object({
  builder: z.object({ id: nonEmpty }),
  invocation: z.object({
    configSource: z.object({
      uri: nonEmpty,
      digest: z.object({ sha1: gitCommit }),
      entryPoint: nonEmpty,
    }),
    environment: z.object({
      GITHUB_RUN_ID: digits,
      GITHUB_RUN_ATTEMPT: digits,
      GITHUB_REF: nonEmpty.optional(),
      GITHUB_SHA: gitCommit.optional(),
      GITHUB_REPOSITORY: nonEmpty.optional(),
    }),
  }),
});

const INVOCATION = /^(https:\/\/[^/]+\/[^/]+\/[^/]+)\/actions\/runs\/([0-9]+)\/attempts\/([0-9]+)$/;

function singleSubject(statement: InTotoStatement): NpmSubject {
  if (statement.subject.length !== 1) {
    throw new ProvenanceError(`provenance names ${statement.subject.length} subjects, expected exactly one npm package`);
  }
  const name = statement.subject[0]?.name ?? '';
  const subject = parseNpmPurl(name);
  if (!subject) throw new ProvenanceError(`provenance subject ${JSON.stringify(name)} is not a pkg:npm/<name>@<version>`);
  return subject;
}

function predicate<T>(schema: z.ZodType<T>, statement: InTotoStatement): T {
  const parsed = schema.safeParse(statement.predicate);
  if (!parsed.success) {
    throw new ProvenanceError(`malformed ${statement.predicateType} predicate: ${describe(parsed.error)}`);
  }
  return parsed.data;
}

/**
 * The build facts of a SLSA v1 or v0.2 provenance statement (GitHub Actions). Every fact is required
 * and cross-checked where the statement says it twice; anything missing or inconsistent throws
 * ProvenanceError rather than returning a partial answer.
 */
export function provenanceFacts(statement: unknown): ProvenanceFacts {
  const parsed = statementSchema.safeParse(statement);
  if (!parsed.success) throw new ProvenanceError(`not an in-toto statement: ${describe(parsed.error)}`);
  const st = parsed.data;

  if (st.predicateType === SLSA_V1_PREDICATE) {
    const p = predicate(slsaV1Schema, st);
    const workflow = p.buildDefinition.externalParameters.workflow;
    const repository = workflow.repository.replace(/\/+$/, '');
    const match = INVOCATION.exec(p.runDetails.metadata.invocationId);
    if (!match) {
      throw new ProvenanceError(`invocationId ${p.runDetails.metadata.invocationId} is not <repository>/actions/runs/<run>/attempts/<n>`);
    }
    if (match[1] !== repository) {
      throw new ProvenanceError(`invocationId repository ${match[1]} differs from workflow repository ${repository}`);
    }
    return {
      predicateType: SLSA_V1_PREDICATE,
      repository,
      workflowPath: workflow.path,
      ref: workflow.ref,
      commit: p.buildDefinition.resolvedDependencies[0]!.digest.gitCommit,
      runId: match[2]!,
      runAttempt: match[3]!,
      builderId: p.runDetails.builder.id,
      subject: singleSubject(st),
    };
  }

  if (st.predicateType === SLSA_V02_PREDICATE) {
    const p = predicate(slsaV02Schema, st);
    const source = p.invocation.configSource;
    const env = p.invocation.environment;
    // git+https://github.com/owner/repo@refs/heads/main
    const uri = /^(?:git\+)?(https:\/\/[^@]+)@(refs\/.+)$/.exec(source.uri);
    if (!uri) throw new ProvenanceError(`configSource.uri ${source.uri} is not git+https://<repository>@<ref>`);
    const repository = uri[1]!.replace(/\.git$/, '').replace(/\/+$/, '');
    const ref = uri[2]!;
    const commit = source.digest.sha1;
    if (env.GITHUB_REF !== undefined && env.GITHUB_REF !== ref) {
      throw new ProvenanceError(`GITHUB_REF ${env.GITHUB_REF} differs from configSource ref ${ref}`);
    }
    if (env.GITHUB_SHA !== undefined && env.GITHUB_SHA !== commit) {
      throw new ProvenanceError(`GITHUB_SHA ${env.GITHUB_SHA} differs from configSource commit ${commit}`);
    }
    if (env.GITHUB_REPOSITORY !== undefined && !repository.endsWith(`/${env.GITHUB_REPOSITORY}`)) {
      throw new ProvenanceError(`GITHUB_REPOSITORY ${env.GITHUB_REPOSITORY} differs from configSource repository ${repository}`);
    }
    return {
      predicateType: SLSA_V02_PREDICATE,
      repository,
      workflowPath: source.entryPoint,
      ref,
      commit,
      runId: env.GITHUB_RUN_ID,
      runAttempt: env.GITHUB_RUN_ATTEMPT,
      builderId: p.builder.id,
      subject: singleSubject(st),
    };
  }

  throw new ProvenanceError(`predicateType ${st.predicateType} is not SLSA provenance v1 or v0.2`);
}

/** Hex sha512 digests named by an SRI string (`sha512-<base64>`, several separated by spaces). */
function sha512Hexes(integrity: string): string[] {
  const out: string[] = [];
  for (const token of integrity.trim().split(/\s+/)) {
    const m = /^sha512-([A-Za-z0-9+/]+={0,2})(?:\?.*)?$/.exec(token);
    if (!m) continue;
    const bytes = Buffer.from(m[1]!, 'base64');
    if (bytes.length === 64) out.push(bytes.toString('hex'));
  }
  return out;
}

/**
 * True when the statement names exactly this release (name and version) with a sha512 digest equal to
 * the release's `dist.integrity`. Malformed input is false, never an exception.
 */
export function subjectMatches(statement: unknown, name: string, version: string, integrity: string): boolean {
  const parsed = statementSchema.safeParse(statement);
  if (!parsed.success) return false;
  const wanted = sha512Hexes(integrity);
  if (wanted.length === 0) return false;
  return parsed.data.subject.some((s) => {
    const subject = parseNpmPurl(s.name);
    const digest = s.digest.sha512?.toLowerCase();
    return subject !== null && subject.name === name && subject.version === version && digest !== undefined && wanted.includes(digest);
  });
}
