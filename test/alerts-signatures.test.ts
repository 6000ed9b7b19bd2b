// Webhook signature verifiers: right signatures pass with any configured secret; forged, missing,
// stale, future-dated ones and a body changed by one byte do not. Known answers were computed with
// openssl, with the same commands docs/alert-formats.md gives.
import { signGithub, signStandardWebhook, standardWebhookKey, verifyGithubSignature, verifyStandardWebhook } from '../core/alerts/signatures';
import { rejection } from './helpers/alerts';

const body = Buffer.from('{"id":"scan-1","kind":"malware","title":"t","package":{"name":"left-pad","versions":["1.3.1"]}}');
const flipOneByte = (buffer: Buffer, at = 10): Buffer => {
  const copy = Buffer.from(buffer);
  copy[at] = (copy[at] as number) ^ 0x01;
  return copy;
};

describe('GitHub X-Hub-Signature-256', () => {
  const secret = "It's a Secret to Everybody";

  it('matches openssl (GitHub documents this secret and body with this signature)', () => {
    expect(signGithub(Buffer.from('Hello, World!'), secret)).toBe('sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
    expect(signGithub(body, secret)).toBe('sha256=d3a340195b2d4e9d4548567de8e210b34e44f907a00e0341eec97bfc194881c4');
  });

  it('accepts a signature made with any of the configured secrets (rotation)', () => {
    const secrets = ['old-secret', secret, 'new-secret'];
    for (const used of secrets) expect(verifyGithubSignature(body, signGithub(body, used), secrets)).toBe(true);
    expect(verifyGithubSignature(body, signGithub(body, secret).toUpperCase().replace('SHA256=', 'sha256='), secrets)).toBe(true);
  });

  it('refuses forged, missing and malformed signatures, and a body changed by one byte', () => {
    const good = signGithub(body, secret);
    expect(verifyGithubSignature(body, signGithub(body, 'guessed'), [secret])).toBe(false);
    expect(verifyGithubSignature(body, undefined, [secret])).toBe(false);
    expect(verifyGithubSignature(body, '', [secret])).toBe(false);
    expect(verifyGithubSignature(body, good.replace('sha256=', 'sha1='), [secret])).toBe(false);
    expect(verifyGithubSignature(body, good.slice(0, -2), [secret])).toBe(false);
    expect(verifyGithubSignature(body, `${good}00`, [secret])).toBe(false);
    expect(verifyGithubSignature(flipOneByte(body), good, [secret])).toBe(false);
    expect(verifyGithubSignature(body, good, [])).toBe(false);
  });

  it('never treats an empty secret as configured', () => {
    expect(verifyGithubSignature(body, signGithub(body, ''), [''])).toBe(false);
  });
});

describe('Standard Webhooks', () => {
  const secret = 'whsec_cXVhcmFudGluZS10ZXN0LXNpZ25pbmcta2V5LTAx';
  const other = `whsec_${Buffer.from('another-key-of-enough-bytes').toString('base64')}`;
  const id = 'msg_1';
  const now = 1_764_111_600;
  const headers = (signature: string, timestamp = now) => ({ id, timestamp: String(timestamp), signature });


  it('matches openssl over "<id>.<timestamp>.<body>" with the decoded key', () => {
    expect(standardWebhookKey(secret).toString()).toBe('quarantine-test-signing-key-01');
    expect(signStandardWebhook(body, id, now, secret)).toBe('v1,xH6Z09LtGLmhKvAfpiGDraqb80IYf4EJgpyHBBLgKwQ=');
  });

  it('accepts a signature made with any configured secret, among several signatures', () => {
    const mine = signStandardWebhook(body, id, now, secret);
    expect(() => verifyStandardWebhook(body, headers(mine), [other, secret], now)).not.toThrow();
    expect(() => verifyStandardWebhook(body, headers(signStandardWebhook(body, id, now, other)), [other, secret], now)).not.toThrow();
    const stranger = signStandardWebhook(body, id, now, `whsec_${Buffer.from('nobody-we-know-at-all').toString('base64')}`);
    expect(() => verifyStandardWebhook(body, headers(`v1a,ignored ${stranger} ${mine}`), [secret], now)).not.toThrow();
  });

  it('accepts timestamps up to the tolerance either side', () => {
    for (const ts of [now - 300, now + 300]) {
      expect(() => verifyStandardWebhook(body, headers(signStandardWebhook(body, id, ts, secret), ts), [secret], now)).not.toThrow();
    }
  });

  it.each<[string, { id?: string; timestamp?: string; signature?: string }, RegExp]>([
    ['no id', { timestamp: String(now), signature: 'v1,AAAA' }, /missing webhook-id/],
    ['no timestamp', { id, signature: 'v1,AAAA' }, /missing webhook-timestamp/],
    ['no signature', { id, timestamp: String(now) }, /missing webhook-signature/],
    ['a timestamp in milliseconds', { id, timestamp: String(now * 1000), signature: 'v1,AAAA' }, /unix seconds/],
    ['a timestamp that is not a number', { id, timestamp: '17641116e2', signature: 'v1,AAAA' }, /unix seconds/],
  ])('refuses %s with a 401', (_what, given, reason) => {
    const error = rejection(() => verifyStandardWebhook(body, given, [secret], now));
    expect(error.status).toBe(401);
    expect(error.message).toMatch(reason);
  });

  it('refuses stale and future-dated deliveries, even correctly signed', () => {
    const stale = now - 301;
    const future = now + 301;
    expect(rejection(() => verifyStandardWebhook(body, headers(signStandardWebhook(body, id, stale, secret), stale), [secret], now)).message).toMatch(/too old/);
    expect(rejection(() => verifyStandardWebhook(body, headers(signStandardWebhook(body, id, future, secret), future), [secret], now)).message).toMatch(/future/);
  });

  it('refuses forged signatures, a replayed signature under another id, and a body changed by one byte', () => {
    const good = signStandardWebhook(body, id, now, secret);
    const forged = signStandardWebhook(body, id, now, other);
    for (const attempt of [
      () => verifyStandardWebhook(body, headers(forged), [secret], now),
      () => verifyStandardWebhook(body, { ...headers(good), id: 'msg_2' }, [secret], now),
      () => verifyStandardWebhook(body, headers(good.replace('v1,', 'v2,')), [secret], now),
      () => verifyStandardWebhook(body, headers('v1,'), [secret], now),
      () => verifyStandardWebhook(flipOneByte(body), headers(good), [secret], now),
      () => verifyStandardWebhook(body, headers(good), [], now),
    ]) {
      const error = rejection(attempt);
      expect([error.status, error.message]).toEqual([401, 'no valid webhook-signature']);
    }
  });

  it('treats a malformed configured secret as a configuration error, not a bad request', () => {
    expect(() => standardWebhookKey('not-prefixed')).toThrow(TypeError);
    expect(() => standardWebhookKey('whsec_c2hvcnQ=')).toThrow(TypeError);
    expect(() => standardWebhookKey('whsec_!!!')).toThrow(TypeError);
  });
});
