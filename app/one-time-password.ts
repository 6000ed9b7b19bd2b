// A one-time password as every client hands it to Temporal (the CLI's `--otp`, the server's approval
// API): wrapped in the SealedSecret envelope, which the payload codec (worker/secret-codec.ts) finds and
// encrypts before the payload leaves the process. Built in one place so that no client sends a
// password in a shape the codec would not recognise, and so pass it on in clear.
import type { SealedSecret } from '../core/playbook/ports';

/** npm's one-time passwords: 6 digits from an authenticator, 8 from a recovery code. */
export const ONE_TIME_PASSWORD = /^\d{6,8}$/;

export function sealOneTimePassword(otp: string): SealedSecret {
  // The value itself is never part of an error: it may be a real password mistyped by one digit.
  if (!ONE_TIME_PASSWORD.test(otp)) throw new Error('a one-time password is 6 to 8 digits');
  return { sealed: 'quarantine-secret/v1', value: otp };
}
