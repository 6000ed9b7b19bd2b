// Provenance decoding, facts, subject matching and offline Sigstore verification against real npm
// attestation responses (test/fixtures/npm-attestations, see its SOURCES.md).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createOfflineVerifier } from '../activities/provenance-verify';
import { FULCIO_OID, identityMismatch, type SignerIdentity } from '../core/provenance-identity';
import {
  decodeAttestations,
  parseNpmPurl,
  provenanceFacts,
  ProvenanceError,
  PUBLISH_PREDICATE,
  subjectMatches,
  type DecodedAttestation,
  type InTotoStatement,
} from '../core/provenance';

const DIR = join(__dirname, 'fixtures', 'npm-attestations');
const load = (file: string): unknown => JSON.parse(readFileSync(join(DIR, file), 'utf8'));
const files = readdirSync(DIR).filter((f) => f.endsWith('.tgz.json')).sort();
const valid = files.filter((f) => !f.includes('-invalidsig'));
const alteredProv = files.filter((f) => f.includes('-invalidsigprov'));
const alteredPub = files.filter((f) => f.includes('-invalidsigpub'));

const SLSA = /^https:\/\/slsa\.dev\/provenance\/(v1|v0\.2)$/;
const byKind = (decoded: DecodedAttestation[]) => ({
  publish: decoded.find((a) => a.predicateType === PUBLISH_PREDICATE)!,
  provenance: decoded.find((a) => SLSA.test(a.predicateType))!,
});
const integrityOf = (statement: InTotoStatement): string =>
  `sha512-${Buffer.from(statement.subject[0]!.digest.sha512!, 'hex').toString('base64')}`;

const verifier = createOfflineVerifier();

test('the fixtures are all there', () => {
  expect(files).toHaveLength(15);
  expect(valid).toHaveLength(5);
  expect(alteredProv).toHaveLength(5);
  expect(alteredPub).toHaveLength(5);
});

describe.each(valid)('valid %s', (file) => {
  const decoded = decodeAttestations(load(file));

  test('decodes a publish attestation and a SLSA provenance for the same subject', () => {
    expect(decoded).toHaveLength(2);
    const { publish, provenance } = byKind(decoded);
    expect(publish.statement.predicateType).toBe(PUBLISH_PREDICATE);
    expect(provenance.statement.predicateType).toMatch(SLSA);
    for (const a of decoded) {
      expect(a.subjects).toHaveLength(1);
      expect(a.subjects[0]!.name).toMatch(/^pkg:npm\/.+@\d+\.\d+\.\d+$/);
      expect(a.subjects[0]!.digest.sha512).toMatch(/^[0-9a-f]{128}$/);
    }
    expect(provenance.subjects).toEqual(publish.subjects);
  });

  test('both attestations verify offline; the provenance certificate names the build its statement claims', () => {
    const { publish, provenance } = byKind(decoded);
    expect(verifier.verifyBundle(publish.bundle)).toEqual({ ok: true });
    const result = verifier.verifyBundle(provenance.bundle);
    expect(result).toEqual({ ok: true, identity: expect.objectContaining({ subjectAlternativeName: expect.stringMatching(/^https:\/\/github\.com\//) }) });
    expect(identityMismatch(result.identity, provenanceFacts(provenance.statement))).toBeUndefined();
  });

  test('subject matching: right release accepted, wrong version or digest refused', () => {
    const { provenance } = byKind(decoded);
    const { name, version } = parseNpmPurl(provenance.subjects[0]!.name)!;
    const integrity = integrityOf(provenance.statement);
    expect(subjectMatches(provenance.statement, name, version, integrity)).toBe(true);
    expect(subjectMatches(provenance.statement, name, `${version}-1`, integrity)).toBe(false);
    expect(subjectMatches(provenance.statement, name, '0.0.0', integrity)).toBe(false);
    expect(subjectMatches(provenance.statement, `${name}-x`, version, integrity)).toBe(false);
    const wrong = Buffer.from(provenance.subjects[0]!.digest.sha512!, 'hex');
    wrong[0] = wrong[0]! ^ 0xff;
    expect(subjectMatches(provenance.statement, name, version, `sha512-${wrong.toString('base64')}`)).toBe(false);
    expect(subjectMatches(provenance.statement, name, version, 'sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toBe(false);
  });
});

function expectFailsOnlyOn(file: string, altered: 'publish' | 'provenance') {
  const { publish, provenance } = byKind(decodeAttestations(load(file)));
  const bad = altered === 'publish' ? publish : provenance;
  const good = altered === 'publish' ? provenance : publish;
  expect(verifier.verifyBundle(good.bundle)).toMatchObject({ ok: true });
  const result = verifier.verifyBundle(bad.bundle);
  expect(result).toEqual({ ok: false, code: 'TLOG_BODY_ERROR', reason: 'TLOG_BODY_ERROR: DSSE payload hash mismatch' });
}

test.each(alteredProv)('%s fails on its provenance attestation only', (file) => expectFailsOnlyOn(file, 'provenance'));
test.each(alteredPub)('%s fails on its publish attestation only', (file) => expectFailsOnlyOn(file, 'publish'));

const provenanceOf = (file: string) => byKind(decodeAttestations(load(file))).provenance.statement;

test('SLSA v1 facts (sigstore@2.3.1)', () => {
  expect(provenanceFacts(provenanceOf('provenance-npm-test-cli-v1-prega.tgz.json'))).toEqual({
    predicateType: 'https://slsa.dev/provenance/v1',
    repository: 'https://github.com/sigstore/sigstore-js',
    workflowPath: '.github/workflows/release.yml',
    ref: 'refs/heads/main',
    commit: '46e7056ff9912ebfee5298d94024895a9fea76c0',
    runId: '9116405766',
    runAttempt: '1',
    builderId: 'https://github.com/actions/runner/github-hosted',
    subject: { name: 'sigstore', version: '2.3.1' },
  });
});

test('SLSA v1 facts (gundam-visor@1.0.1, tag build)', () => {
  expect(provenanceFacts(provenanceOf('gundam-visor-cli-v1-tag.tgz.json'))).toEqual({
    predicateType: 'https://slsa.dev/provenance/v1',
    repository: 'https://github.com/ramonpetgrave64/gundam-visor',
    workflowPath: '.github/workflows/npm-publish.yml',
    ref: 'refs/tags/v1.0.1',
    commit: '599500821344b070902a7a5666064bfdaba715df',
    runId: '9358004112',
    runAttempt: '1',
    builderId: 'https://github.com/actions/runner/github-hosted',
    subject: { name: 'gundam-visor', version: '1.0.1' },
  });
});

test('SLSA v0.2 facts (@laurentsimon/provenance-npm-test@1.0.3, npm CLI builder)', () => {
  expect(provenanceFacts(provenanceOf('provenance-npm-test-cli-v02-prega.tgz.json'))).toEqual({
    predicateType: 'https://slsa.dev/provenance/v0.2',
    repository: 'https://github.com/laurentsimon/provenance-npm-test',
    workflowPath: '.github/workflows/release.yml',
    ref: 'refs/heads/main',
    commit: 'b38894f2dda4355ea5606fccb166e61565e12a14',
    runId: '4757060009',
    runAttempt: '1',
    builderId: 'https://github.com/actions/runner',
    subject: { name: '@laurentsimon/provenance-npm-test', version: '1.0.3' },
  });
});

test('SLSA v0.2 facts (@laurentsimon/provenance-npm-test@1.0.5, slsa-github-generator builder)', () => {
  expect(provenanceFacts(provenanceOf('provenance-npm-test-ossf.tgz.json'))).toEqual({
    predicateType: 'https://slsa.dev/provenance/v0.2',
    repository: 'https://github.com/laurentsimon/provenance-npm-test',
    workflowPath: '.github/workflows/release-slsa3.yml',
    ref: 'refs/heads/main',
    commit: '34490b44db557f009617bcb92b8780f972c189ab',
    runId: '5016782196',
    runAttempt: '1',
    builderId: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v1.6.0',
    subject: { name: '@laurentsimon/provenance-npm-test', version: '1.0.5' },
  });
});

test('SLSA v0.2 facts (@trishankatdatadog/supreme-goggles@1.0.5, tag build)', () => {
  expect(provenanceFacts(provenanceOf('supreme-googles-cli-v02-tag.tgz.json'))).toEqual({
    predicateType: 'https://slsa.dev/provenance/v0.2',
    repository: 'https://github.com/trishankatdatadog/supreme-goggles',
    workflowPath: '.github/workflows/npm-publish.yml',
    ref: 'refs/tags/v1.0.5',
    commit: '38ebf99444e033b2f1550c9aaaeacd62d02a12ba',
    runId: '4994975790',
    runAttempt: '1',
    builderId: 'https://github.com/actions/runner',
    subject: { name: '@trishankatdatadog/supreme-goggles', version: '1.0.5' },
  });
});

describe('the signing certificate binds the claims', () => {
  const identityOf = (file: string): SignerIdentity => {
    const result = verifier.verifyBundle(byKind(decodeAttestations(load(file))).provenance.bundle);
    if (!result.ok || !result.identity) throw new Error(`${file}: no verified identity`);
    return result.identity;
  };
  const factsOf = (file: string) => provenanceFacts(provenanceOf(file));
  const without = (identity: SignerIdentity, drop: (oid: string) => boolean): SignerIdentity => ({
    ...identity,
    extensions: Object.fromEntries(Object.entries(identity.extensions).filter(([oid]) => !drop(oid))),
  });
  const sigstoreJs = 'provenance-npm-test-cli-v1-prega.tgz.json';

  test('the identity of a real certificate: SAN, issuer, raw (1.1-1.6) and DER (1.8+) extensions', () => {
    expect(identityOf(sigstoreJs)).toEqual({
      subjectAlternativeName: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
      extensions: expect.objectContaining({
        [FULCIO_OID.issuerV1]: 'https://token.actions.githubusercontent.com',
        [FULCIO_OID.githubWorkflowRepository]: 'sigstore/sigstore-js',
        [FULCIO_OID.githubWorkflowSha]: '46e7056ff9912ebfee5298d94024895a9fea76c0',
        [FULCIO_OID.issuer]: 'https://token.actions.githubusercontent.com',
        [FULCIO_OID.sourceRepositoryUri]: 'https://github.com/sigstore/sigstore-js',
        [FULCIO_OID.sourceRepositoryDigest]: '46e7056ff9912ebfee5298d94024895a9fea76c0',
        [FULCIO_OID.sourceRepositoryRef]: 'refs/heads/main',
        [FULCIO_OID.buildConfigUri]: 'https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main',
        [FULCIO_OID.runInvocationUri]: 'https://github.com/sigstore/sigstore-js/actions/runs/9116405766/attempts/1',
      }),
    });
  });

  test('a reusable workflow signs with its own SAN; the calling workflow is the build config', () => {
    const ossf = 'provenance-npm-test-ossf.tgz.json';
    const identity = identityOf(ossf);
    expect(identity.subjectAlternativeName).toBe('https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_lowperms-generic_slsa3.yml@refs/tags/v1.6.0');
    expect(identityMismatch(identity, factsOf(ossf))).toBeUndefined();
    expect(identityMismatch(without(identity, (oid) => oid === FULCIO_OID.buildConfigUri), factsOf(ossf))).toBe(
      `certificate identity ${identity.subjectAlternativeName} does not match the provenance's https://github.com/laurentsimon/provenance-npm-test/.github/workflows/release-slsa3.yml@refs/heads/main`,
    );
  });

  test("another repository's certificate: every claim that differs is named", () => {
    expect(identityMismatch(identityOf('gundam-visor-cli-v1-tag.tgz.json'), factsOf(sigstoreJs))).toBe(
      [
        "certificate identity https://github.com/ramonpetgrave64/gundam-visor/.github/workflows/npm-publish.yml@refs/tags/v1.0.1 does not match the provenance's https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        "certificate source repository https://github.com/ramonpetgrave64/gundam-visor does not match the provenance's https://github.com/sigstore/sigstore-js",
        "certificate commit 599500821344b070902a7a5666064bfdaba715df does not match the provenance's 46e7056ff9912ebfee5298d94024895a9fea76c0",
        "certificate ref refs/tags/v1.0.1 does not match the provenance's refs/heads/main",
        "certificate run https://github.com/ramonpetgrave64/gundam-visor/actions/runs/9358004112/attempts/1 does not match the provenance's https://github.com/sigstore/sigstore-js/actions/runs/9116405766/attempts/1",
      ].join('; '),
    );
  });

  test('the same repository, another run or commit', () => {
    const facts = factsOf(sigstoreJs);
    const identity = identityOf(sigstoreJs);
    expect(identityMismatch(identity, { ...facts, runAttempt: '2' })).toBe(
      "certificate run https://github.com/sigstore/sigstore-js/actions/runs/9116405766/attempts/1 does not match the provenance's https://github.com/sigstore/sigstore-js/actions/runs/9116405766/attempts/2",
    );
    expect(identityMismatch(identity, { ...facts, commit: '0'.repeat(40) })).toBe(
      `certificate commit 46e7056ff9912ebfee5298d94024895a9fea76c0 does not match the provenance's ${'0'.repeat(40)}`,
    );
  });

  test('a certificate with only the deprecated extensions (1.1-1.6) and the SAN is still bound', () => {
    const legacy = without(identityOf(sigstoreJs), (oid) => Number(oid.split('.').pop()) >= 8);
    expect(Object.keys(legacy.extensions).sort()).toEqual([
      FULCIO_OID.issuerV1, FULCIO_OID.githubWorkflowTrigger, FULCIO_OID.githubWorkflowSha, FULCIO_OID.githubWorkflowName, FULCIO_OID.githubWorkflowRepository, FULCIO_OID.githubWorkflowRef,
    ]);
    expect(identityMismatch(legacy, factsOf(sigstoreJs))).toBeUndefined();
    expect(identityMismatch(legacy, { ...factsOf(sigstoreJs), repository: 'https://github.com/acme/packages' })).toMatch(
      /^certificate identity https:\/\/github\.com\/sigstore\/sigstore-js\/\.github\/workflows\/release\.yml@refs\/heads\/main does not match the provenance's https:\/\/github\.com\/acme\/packages\/.*; certificate source repository https:\/\/github\.com\/sigstore\/sigstore-js does not match/,
    );
  });

  test('another issuer, a certificate naming nothing, or no certificate at all', () => {
    const facts = factsOf(sigstoreJs);
    const identity = identityOf(sigstoreJs);
    const gitlab = { ...identity, extensions: { ...identity.extensions, [FULCIO_OID.issuer]: 'https://gitlab.com' } };
    expect(identityMismatch(gitlab, facts)).toBe('certificate issuer https://gitlab.com is not GitHub Actions (https://token.actions.githubusercontent.com)');
    expect(identityMismatch({ subjectAlternativeName: 'someone@example.com', extensions: {} }, facts)).toBe(
      [
        'the certificate names no OIDC issuer',
        "certificate identity someone@example.com does not match the provenance's https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        'the certificate names no source repository',
        'the certificate names no commit',
        'the certificate names no ref',
      ].join('; '),
    );
    expect(identityMismatch(undefined, facts)).toBe('the provenance is not signed with a certificate: no build identity vouches for its claims');
  });
});

describe('malformed input is refused, never partially trusted', () => {
  const v1 = provenanceOf('provenance-npm-test-cli-v1-prega.tgz.json');
  const v02 = provenanceOf('provenance-npm-test-cli-v02-prega.tgz.json');
  const clone = <T>(x: T): T => structuredClone(x);

  test('a publish attestation is not provenance', () => {
    const { publish } = byKind(decodeAttestations(load('provenance-npm-test-cli-v1-prega.tgz.json')));
    expect(() => provenanceFacts(publish.statement)).toThrow(/not SLSA provenance/);
  });

  test('a v1 statement without its invocationId, or with a foreign one', () => {
    const missing = clone(v1) as { predicate: { runDetails: { metadata: Record<string, unknown> } } };
    delete missing.predicate.runDetails.metadata.invocationId;
    expect(() => provenanceFacts(missing)).toThrow(ProvenanceError);
    expect(() => provenanceFacts(missing)).toThrow(/runDetails\.metadata\.invocationId/);
    const foreign = clone(v1) as { predicate: { runDetails: { metadata: { invocationId: string } } } };
    foreign.predicate.runDetails.metadata.invocationId = 'https://github.com/evil/fork/actions/runs/1/attempts/1';
    expect(() => provenanceFacts(foreign)).toThrow(/differs from workflow repository/);
  });

  test('a v0.2 statement without a run id, or whose GITHUB_SHA disagrees', () => {
    const missing = clone(v02) as { predicate: { invocation: { environment: Record<string, unknown> } } };
    delete missing.predicate.invocation.environment.GITHUB_RUN_ID;
    expect(() => provenanceFacts(missing)).toThrow(/GITHUB_RUN_ID/);
    const disagree = clone(v02) as { predicate: { invocation: { environment: Record<string, unknown> } } };
    disagree.predicate.invocation.environment.GITHUB_SHA = '0'.repeat(40);
    expect(() => provenanceFacts(disagree)).toThrow(/GITHUB_SHA/);
  });

  test('not a statement at all', () => {
    expect(() => provenanceFacts(null)).toThrow(ProvenanceError);
    expect(() => provenanceFacts({ predicateType: 'https://slsa.dev/provenance/v1' })).toThrow(/not an in-toto statement/);
  });

  test('responses that are not attestations', () => {
    expect(() => decodeAttestations({})).toThrow(/malformed attestations response/);
    const response = load('gundam-visor-cli-v1-tag.tgz.json') as { attestations: { bundle: { dsseEnvelope: { payload: string } } }[] };
    const notBase64 = clone(response);
    notBase64.attestations[0]!.bundle.dsseEnvelope.payload = '!!!';
    expect(() => decodeAttestations(notBase64)).toThrow(/not base64/);
    const notJson = clone(response);
    notJson.attestations[0]!.bundle.dsseEnvelope.payload = Buffer.from('nope').toString('base64');
    expect(() => decodeAttestations(notJson)).toThrow(/not JSON/);
  });

  test('an altered signature, an unknown key hint, or keys without the signer do not verify; only a signer the trust material lacks is unknown', () => {
    const { publish, provenance } = byKind(decodeAttestations(load('gundam-visor-cli-v1-tag.tgz.json')));
    const sigAltered = clone(provenance.bundle) as { dsseEnvelope: { signatures: { sig: string }[] } };
    const sig = Buffer.from(sigAltered.dsseEnvelope.signatures[0]!.sig, 'base64');
    sig[sig.length - 5] = sig[sig.length - 5]! ^ 1;
    sigAltered.dsseEnvelope.signatures[0]!.sig = sig.toString('base64');
    expect(verifier.verifyBundle(sigAltered)).toMatchObject({ ok: false, code: 'TLOG_BODY_ERROR' });
    expect(verifier.verifyBundle(sigAltered)).not.toHaveProperty('unknownSigner');
    const hint = clone(publish.bundle) as { verificationMaterial: { publicKey: { hint: string } } };
    hint.verificationMaterial.publicKey.hint = 'SHA256:unknown';
    expect(verifier.verifyBundle(hint)).toEqual({ ok: false, code: 'PUBLIC_KEY_ERROR', reason: 'PUBLIC_KEY_ERROR: key not found: SHA256:unknown', unknownSigner: true });
    const keyless = createOfflineVerifier({ npmKeys: { keys: [] } });
    expect(keyless.verifyBundle(publish.bundle)).toMatchObject({ ok: false, code: 'PUBLIC_KEY_ERROR', unknownSigner: true });
    // A payload that no longer matches its own log entry is tampered, whether or not the signer is known.
    const altered = byKind(decodeAttestations(load('gundam-visor-cli-v1-tag-invalidsigpub.tgz.json'))).publish;
    expect(keyless.verifyBundle(altered.bundle)).toEqual({ ok: false, code: 'TLOG_BODY_ERROR', reason: 'TLOG_BODY_ERROR: DSSE payload hash mismatch' });
  });

  test('a malformed bundle does not verify', () => {
    expect(verifier.verifyBundle({})).toMatchObject({ ok: false });
    expect(verifier.verifyBundle(null)).toMatchObject({ ok: false });
  });

  test('subject matching on garbage is false', () => {
    expect(subjectMatches(null, 'sigstore', '2.3.1', 'sha512-x')).toBe(false);
    expect(subjectMatches(v1, 'sigstore', '2.3.1', '')).toBe(false);
  });
});

test('purls', () => {
  expect(parseNpmPurl('pkg:npm/%40scope/name@1.2.3')).toEqual({ name: '@scope/name', version: '1.2.3' });
  expect(parseNpmPurl('pkg:npm/name@1.2.3')).toEqual({ name: 'name', version: '1.2.3' });
  expect(parseNpmPurl('pkg:npm/name')).toBeNull();
  expect(parseNpmPurl('pkg:pypi/name@1')).toBeNull();
});
