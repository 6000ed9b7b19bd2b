// Test and dev stack only: real Sigstore bundles for our fixture releases, minted with @sigstore/mock's
// CA, CT log and Rekor log, and the trusted_root.json and npm keys.json that verify them
// (activities/provenance-verify.ts createOfflineVerifier({ trustedRoot, npmKeys })).
//
// Each release gets what registry.npmjs.org serves: a publish attestation signed with a (mock) npm
// registry key, and a SLSA v1 provenance statement in the GitHub Actions shape signed by a short-lived
// Fulcio-style certificate; both logged in the mock Rekor (intoto v0.0.2 entries with an inclusion
// promise and proof). The seeded facts are exported so that tests can assert exact answers.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleToJSON, toDSSEBundle } from '@sigstore/bundle';
import { HashAlgorithm, PublicKeyDetails, TrustedRoot, type TransparencyLogEntry } from '@sigstore/protobuf-specs';
// Deep imports: the package index also loads nock (HTTP interception), which the stack must not.
import { initializeCA } from '@sigstore/mock/dist/fulcio/ca';
import { initializeCTLog } from '@sigstore/mock/dist/fulcio/ctlog';
import { initializeTLog } from '@sigstore/mock/dist/rekor/tlog';
import { PUBLISH_PREDICATE, SLSA_V1_PREDICATE, type ProvenanceFacts } from '../core/provenance';
import { ATTESTATIONS_PATH, type AttestationRecord } from './verdaccio-plugins/verdaccio-attestations';
import type { FixtureRelease } from './registry';

const IN_TOTO = 'application/vnd.in-toto+json';
const REKOR_URL = 'https://rekor.quarantine.test';
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';

// --- the seeded facts ------------------------------------------------------------------------------

export const FIXTURE_REPOSITORY = 'https://github.com/acme/packages';
export const FIXTURE_WORKFLOW = '.github/workflows/release.yml';
export const FIXTURE_REF = 'refs/heads/main';
export const FIXTURE_BUILDER = 'https://github.com/actions/runner/github-hosted';

/** The build facts a minted provenance states (and its certificate is issued to). */
export type FixtureBuild = Pick<ProvenanceFacts, 'repository' | 'workflowPath' | 'ref' | 'commit' | 'runId' | 'runAttempt'>;

export const FIXTURE_BUILDS = {
  /** The release run that built @acme/core 1.2.0 to 1.2.2 and @acme/cli 2.0.0. */
  release: { repository: FIXTURE_REPOSITORY, workflowPath: FIXTURE_WORKFLOW, ref: FIXTURE_REF, commit: '1f3a5c7e9b2d4f6a8c0e1f3a5c7e9b2d4f6a8c0e', runId: '9100000001', runAttempt: '1' },
  /** The poisoned run (a second attempt, another commit) that built @acme/core 1.2.3. */
  poisoned: { repository: FIXTURE_REPOSITORY, workflowPath: FIXTURE_WORKFLOW, ref: FIXTURE_REF, commit: 'badc0de00000000000000000000000000000bad1', runId: '9100000666', runAttempt: '2' },
  /** A later release run: @acme/cli 2.0.1. */
  cli: { repository: FIXTURE_REPOSITORY, workflowPath: FIXTURE_WORKFLOW, ref: FIXTURE_REF, commit: '2e4b6d8f0a1c3e5b7d9f2e4b6d8f0a1c3e5b7d9f', runId: '9100000002', runAttempt: '1' },
  /** An unexpected repository and workflow: @acme/cli 2.1.0-beta.0. */
  fork: { repository: 'https://github.com/acme-forks/packages', workflowPath: '.github/workflows/publish.yml', ref: 'refs/heads/beta', commit: '3c5e7a9b1d2f4a6c8e0b3c5e7a9b1d2f4a6c8e0b', runId: '4242424242', runAttempt: '1' },
  /** The run that built the @acme/utils releases. */
  utils: { repository: FIXTURE_REPOSITORY, workflowPath: FIXTURE_WORKFLOW, ref: FIXTURE_REF, commit: '4d6f8b0c2e3a5b7d9f1c4d6f8b0c2e3a5b7d9f1c', runId: '9100000003', runAttempt: '1' },
} as const satisfies Record<string, FixtureBuild>;

export type Tamper =
  /** The provenance DSSE payload is rewritten after signing (here: to claim another run). */
  | { kind: 'payload' }
  /** The provenance is validly signed, but its subject digest is the tarball of another version. */
  | { kind: 'subject-digest'; digestOf: string }
  /** The provenance claims `build`, but is signed with a certificate issued to this other build's workflow. */
  | { kind: 'signer'; build: FixtureBuild };

export interface FixtureProvenance {
  build: FixtureBuild;
  tamper?: Tamper;
}

/** Provenance the seeded registry serves, by `name@version`. Absent (e.g. @acme/solo): no attestations. */
export const FIXTURE_PROVENANCE: Readonly<Record<string, FixtureProvenance>> = {
  '@acme/core@1.2.0': { build: FIXTURE_BUILDS.release },
  '@acme/core@1.2.1': { build: FIXTURE_BUILDS.release },
  '@acme/core@1.2.2': { build: FIXTURE_BUILDS.release },
  '@acme/core@1.2.3': { build: FIXTURE_BUILDS.poisoned },
  '@acme/cli@2.0.0': { build: FIXTURE_BUILDS.release },
  '@acme/cli@2.0.1': { build: FIXTURE_BUILDS.cli },
  '@acme/cli@2.1.0-beta.0': { build: FIXTURE_BUILDS.fork },
  '@acme/utils@1.0.0': { build: FIXTURE_BUILDS.utils },
  '@acme/utils@1.1.0': { build: FIXTURE_BUILDS.utils, tamper: { kind: 'payload' } },
  '@acme/utils@1.2.0': { build: FIXTURE_BUILDS.utils, tamper: { kind: 'subject-digest', digestOf: '1.0.0' } },
};

/** Where a seeded registry folder keeps the trust material that verifies its attestations. */
export function sigstoreTrustFiles(registryDir: string): { trustedRoot: string; npmKeys: string } {
  return { trustedRoot: join(registryDir, 'sigstore', 'trusted_root.json'), npmKeys: join(registryDir, 'sigstore', 'npm-keys.json') };
}

// --- minting ---------------------------------------------------------------------------------------

export interface InTotoStatementJson {
  _type: string;
  subject: { name: string; digest: Record<string, string> }[];
  predicateType: string;
  predicate: unknown;
}

export interface MintAuthority {
  /** Sigstore trusted_root.json (the mock CA, CT log and Rekor). */
  trustedRoot: unknown;
  /** npm's keys.json shape as @sigstore/tuf ships it (the mock registry key, npm:attestations). */
  npmKeys: unknown;
  /** A Fulcio-certified, Rekor-logged bundle over the statement, the certificate naming the build's workflow. */
  signProvenance(statement: InTotoStatementJson, build: FixtureBuild): Promise<unknown>;
  /** A bundle signed with the registry key, Rekor-logged, as npm signs publish attestations. */
  signPublish(statement: InTotoStatementJson): Promise<unknown>;
}

const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest();
const spki = (key: KeyObject) => key.export({ format: 'der', type: 'spki' });
const bytes = (view: ArrayBufferView) => Buffer.from(view.buffer, view.byteOffset, view.byteLength);

/** DSSE pre-authentication encoding: what the signature covers. */
function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

/** `@scope/name` → `pkg:npm/%40scope/name@version`, as npm writes provenance subjects. */
export function npmPurl(name: string, version: string): string {
  return `pkg:npm/${name.replace(/^@/, '%40')}@${version}`;
}

/** The hex sha512 that an SRI `sha512-<base64>` names. */
export function sha512HexOfIntegrity(integrity: string): string {
  const m = /^sha512-([A-Za-z0-9+/]+={0,2})$/.exec(integrity.trim());
  if (!m) throw new Error(`not a sha512 integrity: ${integrity}`);
  return Buffer.from(m[1]!, 'base64').toString('hex');
}

export function slsaStatement(name: string, version: string, sha512Hex: string, build: FixtureBuild): InTotoStatementJson {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: npmPurl(name, version), digest: { sha512: sha512Hex } }],
    predicateType: SLSA_V1_PREDICATE,
    predicate: {
      buildDefinition: {
        buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
        externalParameters: { workflow: { ref: build.ref, repository: build.repository, path: build.workflowPath } },
        internalParameters: { github: { event_name: 'push', repository_id: '700000001', repository_owner_id: '700000000' } },
        resolvedDependencies: [{ uri: `git+${build.repository}@${build.ref}`, digest: { gitCommit: build.commit } }],
      },
      runDetails: {
        builder: { id: FIXTURE_BUILDER },
        metadata: { invocationId: `${build.repository}/actions/runs/${build.runId}/attempts/${build.runAttempt}` },
      },
    },
  };
}

export function publishStatement(name: string, version: string, sha512Hex: string, registry: string): InTotoStatementJson {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    subject: [{ name: npmPurl(name, version), digest: { sha512: sha512Hex } }],
    predicateType: PUBLISH_PREDICATE,
    predicate: { name, version, registry: registry.replace(/\/+$/, '') },
  };
}

/** The Fulcio extensions GitHub Actions certificates carry (issuer, source repository, build config). */
function githubExtensions(build: FixtureBuild) {
  const utf8 = (oid: string, value: string) => ({ oid, value });
  // 1.1 to 1.6 (deprecated, raw strings) are still issued next to their successors.
  const raw = (oid: string, value: string) => ({ oid, value, legacy: true });
  return [
    raw('1.3.6.1.4.1.57264.1.1', GITHUB_ISSUER),
    raw('1.3.6.1.4.1.57264.1.3', build.commit),
    raw('1.3.6.1.4.1.57264.1.5', new URL(build.repository).pathname.slice(1)),
    raw('1.3.6.1.4.1.57264.1.6', build.ref),
    utf8('1.3.6.1.4.1.57264.1.8', GITHUB_ISSUER),
    utf8('1.3.6.1.4.1.57264.1.9', `${build.repository}/${build.workflowPath}@${build.ref}`),
    utf8('1.3.6.1.4.1.57264.1.12', build.repository),
    utf8('1.3.6.1.4.1.57264.1.13', build.commit),
    utf8('1.3.6.1.4.1.57264.1.14', build.ref),
    utf8('1.3.6.1.4.1.57264.1.18', `${build.repository}/${build.workflowPath}@${build.ref}`),
    utf8('1.3.6.1.4.1.57264.1.21', `${build.repository}/actions/runs/${build.runId}/attempts/${build.runAttempt}`),
  ];
}

export async function createMintAuthority(): Promise<MintAuthority> {
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caKeys = ec();
  const ctKeys = ec();
  const rekorKeys = ec();
  const npmKeys = ec();
  const validFrom = new Date(Date.now() - 60 * 60 * 1000);
  // The mock root certificate is valid from "now" (second precision): sign one second later, so that
  // every certificate and log time of this authority falls inside every validity window.
  const clock = new Date((Math.floor(Date.now() / 1000) + 1) * 1000);

  const ctLog = await initializeCTLog(ctKeys, clock);
  const ca = await initializeCA(caKeys, ctLog, clock);
  const rekor = await initializeTLog(REKOR_URL, rekorKeys, clock);

  const npmKeyId = `SHA256:${sha256(spki(npmKeys.publicKey)).toString('base64').replace(/=+$/, '')}`;
  const npmKeyPem = npmKeys.publicKey.export({ format: 'pem', type: 'spki' }).toString();

  const p256 = (rawBytes: Buffer) => ({ rawBytes, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start: validFrom, end: undefined } });
  const trustedRoot = TrustedRoot.toJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{ baseUrl: REKOR_URL, hashAlgorithm: HashAlgorithm.SHA2_256, publicKey: p256(rekor.publicKey), logId: { keyId: sha256(rekor.publicKey) }, checkpointKeyId: undefined, operator: 'quarantine test stack' }],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: 'https://fulcio.quarantine.test',
        certChain: { certificates: [{ rawBytes: bytes(ca.rootCertificate) }] },
        validFor: { start: validFrom, end: undefined },
        operator: 'quarantine test stack',
      },
    ],
    ctlogs: [{ baseUrl: 'https://ctfe.quarantine.test', hashAlgorithm: HashAlgorithm.SHA2_256, publicKey: p256(ctLog.publicKey), logId: { keyId: bytes(ctLog.logID) }, checkpointKeyId: undefined, operator: 'quarantine test stack' }],
    timestampAuthorities: [],
  });
  const npmKeysJson = {
    keys: [{ keyId: npmKeyId, keyUsage: 'npm:attestations', publicKey: { rawBytes: b64(spki(npmKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: validFrom.toISOString() } } }],
  };

  /** Logs a DSSE signature in the mock Rekor as an intoto v0.0.2 entry, returned in bundle form. */
  async function logEntry(payload: Buffer, signature: Buffer, verifier: string, keyid?: string): Promise<TransparencyLogEntry> {
    const envelope = { payloadType: IN_TOTO, signatures: [{ ...(keyid ? { keyid } : {}), sig: b64(b64(signature)), publicKey: b64(verifier) }] };
    const proposed = {
      apiVersion: '0.0.2',
      kind: 'intoto',
      spec: {
        content: {
          envelope,
          hash: { algorithm: 'sha256', value: sha256(JSON.stringify(envelope)).toString('hex') },
          payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
        },
      },
    };
    const logged = (await rekor.log(proposed)) as Record<string, {
      body: string; integratedTime: number; logID: string; logIndex: number;
      verification: { signedEntryTimestamp: string; inclusionProof: { logIndex: number; treeSize: number; rootHash: string; hashes: string[]; checkpoint: string } };
    }>;
    const entry = Object.values(logged)[0]!;
    const proof = entry.verification.inclusionProof;
    return {
      logIndex: String(entry.logIndex),
      logId: { keyId: Buffer.from(entry.logID, 'hex') },
      kindVersion: { kind: 'intoto', version: '0.0.2' },
      integratedTime: String(entry.integratedTime),
      inclusionPromise: { signedEntryTimestamp: Buffer.from(entry.verification.signedEntryTimestamp, 'base64') },
      inclusionProof: {
        logIndex: String(proof.logIndex),
        rootHash: Buffer.from(proof.rootHash, 'hex'),
        treeSize: String(proof.treeSize),
        hashes: proof.hashes.map((h) => Buffer.from(h, 'base64')),
        checkpoint: { envelope: proof.checkpoint },
      },
      canonicalizedBody: Buffer.from(entry.body, 'base64'),
    };
  }

  return {
    trustedRoot,
    npmKeys: npmKeysJson,

    async signProvenance(statement, build) {
      const payload = Buffer.from(JSON.stringify(statement));
      const ephemeral = ec();
      const leaf = bytes(await ca.issueCertificate({
        publicKey: spki(ephemeral.publicKey),
        subjectAltName: `${build.repository}/${build.workflowPath}@${build.ref}`,
        extensions: githubExtensions(build),
      }));
      const signature = sign('sha256', pae(IN_TOTO, payload), ephemeral.privateKey);
      const certPem = `-----BEGIN CERTIFICATE-----\n${b64(leaf).replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
      const bundle = toDSSEBundle({ artifact: payload, artifactType: IN_TOTO, signature, certificate: leaf, certificateChain: false });
      bundle.verificationMaterial.tlogEntries.push(await logEntry(payload, signature, certPem));
      return bundleToJSON(bundle);
    },

    async signPublish(statement) {
      const payload = Buffer.from(JSON.stringify(statement));
      const signature = sign('sha256', pae(IN_TOTO, payload), npmKeys.privateKey);
      const bundle = toDSSEBundle({ artifact: payload, artifactType: IN_TOTO, signature, keyHint: npmKeyId });
      bundle.verificationMaterial.tlogEntries.push(await logEntry(payload, signature, npmKeyPem, npmKeyId));
      return bundleToJSON(bundle);
    },
  };
}

/** Replaces a bundle's DSSE payload after signing: the signature and the log entry no longer match it. */
function withPayload(bundle: unknown, statement: InTotoStatementJson): unknown {
  const copy = structuredClone(bundle) as { dsseEnvelope: { payload: string } };
  copy.dsseEnvelope.payload = b64(JSON.stringify(statement));
  return copy;
}

/** The attestations npmjs would serve for a release built as `fixture` says (tampered if it says so). */
export async function mintReleaseAttestations(
  authority: MintAuthority,
  release: { name: string; version: string; integrity: string },
  fixture: FixtureProvenance,
  registry: string,
  integrityOf: (version: string) => string = () => release.integrity,
): Promise<AttestationRecord> {
  const digest = sha512HexOfIntegrity(release.integrity);
  const provenanceDigest = fixture.tamper?.kind === 'subject-digest' ? sha512HexOfIntegrity(integrityOf(fixture.tamper.digestOf)) : digest;
  const provenance = slsaStatement(release.name, release.version, provenanceDigest, fixture.build);
  const signer = fixture.tamper?.kind === 'signer' ? fixture.tamper.build : fixture.build;
  let provenanceBundle = await authority.signProvenance(provenance, signer);
  if (fixture.tamper?.kind === 'payload') {
    provenanceBundle = withPayload(provenanceBundle, slsaStatement(release.name, release.version, digest, { ...fixture.build, runId: '1', runAttempt: '1' }));
  }
  const publish = await authority.signPublish(publishStatement(release.name, release.version, digest, registry));
  return {
    attestations: [
      { predicateType: PUBLISH_PREDICATE, bundle: publish },
      { predicateType: SLSA_V1_PREDICATE, bundle: provenanceBundle },
    ],
  };
}

/** PUTs a release's attestations to the registry's attestations route (the stack's plugin). */
export async function putAttestations(registry: string, token: string, name: string, version: string, record: AttestationRecord): Promise<void> {
  const escaped = name.startsWith('@') ? name.replace('/', '%2f') : name;
  const response = await fetch(new URL(`${ATTESTATIONS_PATH.slice(1)}${escaped}@${version}`, registry), {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(record),
  });
  if (!response.ok) throw new Error(`could not store attestations of ${name}@${version}: ${response.status} ${await response.text()}`);
}

/**
 * Mints a trust root and the attestations FIXTURE_PROVENANCE describes for the given releases, stores
 * them in the running registry and writes the trust material into its folder (sigstoreTrustFiles).
 */
export async function seedFixtureProvenance(registry: string, token: string, dir: string, releases: readonly FixtureRelease[]): Promise<void> {
  const authority = await createMintAuthority();
  const files = sigstoreTrustFiles(dir);
  mkdirSync(join(dir, 'sigstore'), { recursive: true });
  writeFileSync(files.trustedRoot, `${JSON.stringify(authority.trustedRoot, null, 2)}\n`);
  writeFileSync(files.npmKeys, `${JSON.stringify(authority.npmKeys, null, 2)}\n`);

  const names = [...new Set(releases.map((r) => r.name))];
  await Promise.all(
    names.map(async (name) => {
      const escaped = name.startsWith('@') ? name.replace('/', '%2f') : name;
      const response = await fetch(new URL(escaped, registry), { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`could not read ${name} from ${registry}: ${response.status}`);
      const packument = (await response.json()) as { versions: Record<string, { dist: { integrity: string } }> };
      const integrityOf = (version: string) => {
        const integrity = packument.versions[version]?.dist.integrity;
        if (!integrity) throw new Error(`${name}@${version} has no dist.integrity on ${registry}`);
        return integrity;
      };
      for (const release of releases.filter((r) => r.name === name)) {
        const fixture = FIXTURE_PROVENANCE[`${name}@${release.version}`];
        if (!fixture) continue;
        const record = await mintReleaseAttestations(authority, { name, version: release.version, integrity: integrityOf(release.version) }, fixture, registry, integrityOf);
        await putAttestations(registry, token, name, release.version, record);
      }
    }),
  );
}
