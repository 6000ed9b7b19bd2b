// Offline Sigstore verification of npm attestation bundles (publish attestations signed with npm's
// registry key, SLSA provenance signed with a Fulcio certificate and logged in Rekor).
//
// `sigstore.verify()` refreshes TUF metadata over the network, so it fails offline. Instead the trust
// material is built from the copy of Sigstore's trusted_root.json and npm's keys.json that
// @sigstore/tuf ships in its seeds.json. That copy is as old as the installed @sigstore/tuf: a bundle
// signed with a key newer than the copy cannot verify; pass a fresher root/keys where the network
// allows (createOfflineVerifier({ trustedRoot, npmKeys })).
//
// A successful verification says the bundle was signed by a trusted identity over its DSSE payload and
// returns that identity (the certificate's SAN and Fulcio extensions); it does not compare the in-toto
// subject with the tarball (core/provenance.ts subjectMatches) nor the identity with the statement's
// claims (core/provenance-identity.ts identityMismatch).
import { createHash, X509Certificate } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import seeds from '@sigstore/tuf/seeds.json';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity } from '@sigstore/verify';
import { z } from 'zod';
import { FULCIO_OID, isRawFulcioExtension, type SignerIdentity } from '../core/provenance-identity';

const SIGSTORE_TUF_REPO = 'https://tuf-repo-cdn.sigstore.dev';
const TRUSTED_ROOT_TARGET = 'trusted_root.json';
const NPM_KEYS_TARGET = 'registry.npmjs.org%2Fkeys.json';
const NPM_ATTESTATION_KEY_USAGE = 'npm:attestations';

/**
 * `unknownSigner`: the failure is explained by the trust material not knowing the bundle's signer (an
 * npm key, certificate issuer or transparency log missing from it, e.g. a root older than the bundle):
 * the signature could not be checked, rather than checked and found wrong. Absent when the signer is known.
 * `identity`: whom the signing certificate names, for certificate-signed bundles (not for key-signed
 * ones); with `unknownSigner` it is what the unchecked certificate claims.
 */
export type VerifyResult =
  | { ok: true; identity?: SignerIdentity }
  | { ok: false; reason: string; code?: string; unknownSigner?: true; identity?: SignerIdentity };

export interface OfflineVerifier {
  verifyBundle(bundle: unknown): VerifyResult;
}

export interface OfflineVerifierOptions {
  /** Sigstore trusted_root.json (parsed); defaults to the copy in @sigstore/tuf's seeds.json. */
  trustedRoot?: unknown;
  /** npm's registry.npmjs.org/keys.json (parsed `{keys:[...]}`); defaults to the seeds.json copy. */
  npmKeys?: unknown;
}

const seedsSchema = z.record(
  z.string(),
  z.object({ targets: z.record(z.string(), z.string()) }).loose(),
);

const npmKeysSchema = z.object({
  keys: z.array(
    z.object({
      keyId: z.string().min(1),
      keyUsage: z.string(),
      publicKey: z.object({
        rawBytes: z.string().min(1),
        keyDetails: z.string().min(1),
        validFor: z.object({ start: z.string().optional(), end: z.string().optional() }).optional(),
      }),
    }),
  ),
});

function seedTarget(name: string): unknown {
  const parsed = seedsSchema.parse(seeds);
  const encoded = parsed[SIGSTORE_TUF_REPO]?.targets[name];
  if (encoded === undefined) throw new Error(`@sigstore/tuf seeds.json has no ${name} target for ${SIGSTORE_TUF_REPO}`);
  return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
}

/** npm keys whose usage is npm:attestations, keyed by keyId (the bundle's publicKey.hint). */
function attestationKeys(npmKeys: unknown): Record<string, PublicKey> {
  const out: Record<string, PublicKey> = {};
  for (const key of npmKeysSchema.parse(npmKeys).keys) {
    if (key.keyUsage !== NPM_ATTESTATION_KEY_USAGE) continue;
    // fromJSON turns the base64 rawBytes into bytes, keyDetails into its enum and validFor into Dates.
    out[key.keyId] = PublicKey.fromJSON(key.publicKey);
  }
  return out;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

/** Whether the trust material knows who signed the bundle (key, certificate issuer, and a log it is in). */
function signerKnown(bundle: Bundle, root: TrustedRoot, keys: Record<string, PublicKey>): boolean {
  const material = bundle.verificationMaterial;
  const logIds = root.tlogs.map((t) => Buffer.from((t.checkpointKeyId ?? t.logId)?.keyId ?? []));
  const logged = material.tlogEntries.some((e) => e.logId !== undefined && logIds.some((id) => id.equals(Buffer.from(e.logId!.keyId))));
  if (!logged) return false;
  const content = material.content;
  if (content.$case === 'publicKey') return content.publicKey.hint in keys;
  const chain = content.$case === 'certificate' ? [content.certificate] : content.x509CertificateChain.certificates;
  const anchors = root.certificateAuthorities.flatMap((ca) => ca.certChain?.certificates ?? []).map((c) => new X509Certificate(c.rawBytes));
  // A certificate in the bundle issued by (or equal to) one the root holds: its issuer is known.
  return chain.some((c) => {
    const cert = new X509Certificate(c.rawBytes);
    return anchors.some((anchor) => anchor.raw.equals(cert.raw) || cert.checkIssued(anchor));
  });
}

/**
 * Whether a DSSE bundle agrees with its own log entries (payload hash). Needs no trust: a bundle whose
 * payload changed after logging is tampered whoever signed it.
 */
function payloadMatchesLog(bundle: Bundle): boolean {
  if (bundle.content.$case !== 'dsseEnvelope') return true;
  const digest = createHash('sha256').update(bundle.content.dsseEnvelope.payload).digest('hex');
  return bundle.verificationMaterial.tlogEntries.every((entry) => {
    let body: { spec?: { content?: { payloadHash?: { value?: unknown } }; payloadHash?: { value?: unknown } } };
    try {
      body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString('utf8'));
    } catch {
      return false;
    }
    // intoto v0.0.2 and dsse v0.0.1 entries; other kinds carry nothing to compare here.
    const logged = body.spec?.content?.payloadHash?.value ?? body.spec?.payloadHash?.value;
    return typeof logged !== 'string' || logged === digest;
  });
}

const FULCIO_OIDS = Object.values(FULCIO_OID);
const UTF8_STRING = 0x0c;

/** The SAN and Fulcio extensions of the bundle's leaf certificate, parsed by @sigstore/core (via the entity). */
function signerIdentity(entity: SignedEntity): SignerIdentity | undefined {
  if (entity.key.$case !== 'certificate') return undefined;
  const certificate = entity.key.certificate;
  const extensions: Record<string, string> = {};
  for (const oid of FULCIO_OIDS) {
    const extension = certificate.extension(oid);
    if (!extension) continue;
    if (isRawFulcioExtension(oid)) {
      extensions[oid] = extension.value.toString('utf8');
      continue;
    }
    // The OCTET STRING's content parsed as DER: one universal UTF8String. Anything else is left out.
    const [inner, ...rest] = extension.valueObj.subs;
    if (inner && rest.length === 0 && inner.tag.isUniversal() && inner.tag.number === UTF8_STRING) extensions[oid] = inner.value.toString('utf8');
  }
  const san = certificate.subjectAltName;
  return { ...(san !== undefined ? { subjectAlternativeName: san } : {}), extensions };
}

/** Builds a verifier from bundled (or given) trust material; no network, no file reads beyond imports. */
export function createOfflineVerifier(options: OfflineVerifierOptions = {}): OfflineVerifier {
  const root = TrustedRoot.fromJSON(options.trustedRoot ?? seedTarget(TRUSTED_ROOT_TARGET));
  const keys = attestationKeys(options.npmKeys ?? seedTarget(NPM_KEYS_TARGET));
  const verifier = new Verifier(toTrustMaterial(root, keys), { tlogThreshold: 1, ctlogThreshold: 1 });

  return {
    verifyBundle(bundle: unknown): VerifyResult {
      let parsed: Bundle | undefined;
      let identity: SignerIdentity | undefined;
      try {
        // bundleFromJSON validates the bundle's shape (ValidationError) before anything is checked.
        parsed = bundleFromJSON(bundle);
        const entity = toSignedEntity(parsed);
        identity = signerIdentity(entity);
        verifier.verify(entity);
        return identity ? { ok: true, identity } : { ok: true };
      } catch (error) {
        const code = errorCode(error);
        const message = error instanceof Error ? error.message : String(error);
        const failure: VerifyResult = code === undefined ? { ok: false, reason: message } : { ok: false, reason: `${code}: ${message}`, code };
        let known = true;
        try {
          known = parsed === undefined || signerKnown(parsed, root, keys);
        } catch {
          // Unparseable certificates are malformed, not unknown.
        }
        if (known) return failure;
        if (!payloadMatchesLog(parsed!)) return { ok: false, reason: 'TLOG_BODY_ERROR: DSSE payload hash mismatch', code: 'TLOG_BODY_ERROR' };
        return { ...failure, unknownSigner: true, ...(identity ? { identity } : {}) };
      }
    },
  };
}
