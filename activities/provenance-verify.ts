// Offline Sigstore verification of npm attestation bundles (publish attestations signed with npm's
// registry key, SLSA provenance signed with a Fulcio certificate and logged in Rekor).
//
// `sigstore.verify()` refreshes TUF metadata over the network, so it fails offline. Instead the trust
// material is built from the copy of Sigstore's trusted_root.json and npm's keys.json that
// @sigstore/tuf ships in its seeds.json. That copy is as old as the installed @sigstore/tuf: a bundle
// signed with a key newer than the copy cannot verify; pass a fresher root/keys where the network
// allows (createOfflineVerifier({ trustedRoot, npmKeys })).
//
// A successful verification says the bundle was signed by a trusted identity over its DSSE payload;
// it does not compare the in-toto subject with the tarball (core/provenance.ts subjectMatches does),
// and it does not say who built the package.
import { bundleFromJSON } from '@sigstore/bundle';
import { PublicKey, TrustedRoot } from '@sigstore/protobuf-specs';
import seeds from '@sigstore/tuf/seeds.json';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { z } from 'zod';

const SIGSTORE_TUF_REPO = 'https://tuf-repo-cdn.sigstore.dev';
const TRUSTED_ROOT_TARGET = 'trusted_root.json';
const NPM_KEYS_TARGET = 'registry.npmjs.org%2Fkeys.json';
const NPM_ATTESTATION_KEY_USAGE = 'npm:attestations';

export type VerifyResult = { ok: true } | { ok: false; reason: string; code?: string };

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

/** Builds a verifier from bundled (or given) trust material; no network, no file reads beyond imports. */
export function createOfflineVerifier(options: OfflineVerifierOptions = {}): OfflineVerifier {
  const root = TrustedRoot.fromJSON(options.trustedRoot ?? seedTarget(TRUSTED_ROOT_TARGET));
  const keys = attestationKeys(options.npmKeys ?? seedTarget(NPM_KEYS_TARGET));
  const verifier = new Verifier(toTrustMaterial(root, keys), { tlogThreshold: 1, ctlogThreshold: 1 });

  return {
    verifyBundle(bundle: unknown): VerifyResult {
      try {
        // bundleFromJSON validates the bundle's shape (ValidationError) before anything is checked.
        verifier.verify(toSignedEntity(bundleFromJSON(bundle)));
        return { ok: true };
      } catch (error) {
        const code = errorCode(error);
        const message = error instanceof Error ? error.message : String(error);
        return code === undefined ? { ok: false, reason: message } : { ok: false, reason: `${code}: ${message}`, code };
      }
    },
  };
}
