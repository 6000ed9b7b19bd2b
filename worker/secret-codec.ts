// Temporal payload codec for one-time passwords: a payload that is a SealedSecret (core/playbook/ports)
// leaves this process encrypted (AES-256-GCM) and is decrypted only by a process holding the same key,
// so the approval update that carries a password, and the activity input that uses it, are ciphertext
// in Temporal's history, its UI and its exports. Every other payload passes unchanged: the audit trail
// stays readable.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';

const SEALED_ENCODING = 'binary/quarantine-sealed';
const MARKER = Buffer.from('"sealed":"quarantine-secret/v1"');
/** A sealed secret is a short JSON object; anything larger is not one, and is not parsed to find out. */
const MAX_SECRET_PAYLOAD = 4096;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function isSealedSecretPayload(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  if (!encoding || decoder.decode(encoding) !== 'json/plain') return false;
  const data = payload.data;
  if (!data || data.length > MAX_SECRET_PAYLOAD || Buffer.from(data).indexOf(MARKER) === -1) return false;
  try {
    const value = JSON.parse(decoder.decode(data)) as { sealed?: unknown; value?: unknown };
    return value.sealed === 'quarantine-secret/v1' && typeof value.value === 'string';
  } catch {
    return false;
  }
}

export class SealedSecretCodec implements PayloadCodec {
  private readonly keyId: string;

  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the secret codec key must be 32 bytes (QUARANTINE_SECRET_KEY: 44 characters of base64)');
    // Names the key in each sealed payload without revealing it: a process with another key says so.
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!isSealedSecretPayload(payload)) return payload;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.key, iv);
      const sealed = Buffer.concat([iv, cipher.update(payload.data!), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: encoder.encode(SEALED_ENCODING), 'quarantine-key-id': encoder.encode(this.keyId) }, data: sealed };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.encoding;
      if (!encoding || decoder.decode(encoding) !== SEALED_ENCODING) return payload;
      const keyId = payload.metadata?.['quarantine-key-id'];
      if (!keyId || decoder.decode(keyId) !== this.keyId) {
        throw new Error('a one-time password in this history was sealed with another QUARANTINE_SECRET_KEY: give this process the key the CLI and the worker share');
      }
      const data = Buffer.from(payload.data!);
      const decipher = createDecipheriv('aes-256-gcm', this.key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(data.length - 16));
      const plain = Buffer.concat([decipher.update(data.subarray(12, data.length - 16)), decipher.final()]);
      return { metadata: { encoding: encoder.encode('json/plain') }, data: plain };
    });
  }
}

/**
 * The codec key: QUARANTINE_SECRET_KEY (base64 of 32 bytes) when set; otherwise a key file in the data
 * directory, created on first use with mode 0600, which the CLI and a worker on the same machine (or
 * the same volume) share.
 */
export function secretCodecKey(env: NodeJS.ProcessEnv, keyFile: string): Buffer {
  const given = env.QUARANTINE_SECRET_KEY;
  if (given) {
    const key = Buffer.from(given, 'base64');
    if (key.length !== 32) throw new Error('QUARANTINE_SECRET_KEY must be 32 bytes in base64 (`openssl rand -base64 32`)');
    return key;
  }
  if (existsSync(keyFile)) {
    const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
    if (key.length !== 32) throw new Error(`${keyFile} does not hold a 32-byte base64 key; remove it to make a new one, or set QUARANTINE_SECRET_KEY`);
    return key;
  }
  mkdirSync(dirname(keyFile), { recursive: true });
  const key = randomBytes(32);
  // Written aside and linked into place: another process sees no file or a whole one, never half.
  const aside = `${keyFile}.${process.pid}.tmp`;
  writeFileSync(aside, `${key.toString('base64')}\n`, { mode: 0o600 });
  chmodSync(aside, 0o600);
  try {
    linkSync(aside, keyFile);
  } catch (err) {
    // Another process (the worker, the CLI) made it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return secretCodecKey(env, keyFile);
    throw err;
  } finally {
    unlinkSync(aside);
  }
  return key;
}
