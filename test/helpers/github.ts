// The GitHub side of the test stack: the stateful stand-in with Prism validating in front of it,
// started once by each test file that needs it (beforeAll), ~2-3 s.
import { generateKeyPairSync, sign } from 'node:crypto';
import { startGithubStandin, type GithubStandin } from '../../stack/github-standin';
import { startPrismProxy, type PrismProxy } from '../../stack/prism';

export interface GithubStack {
  standin: GithubStandin;
  prism: PrismProxy;
  /** Where the product talks to GitHub (GITHUB_API_URL): Prism. */
  apiUrl: string;
  stop(): Promise<void>;
}

export async function startGithubStack(): Promise<GithubStack> {
  const standin = await startGithubStandin();
  try {
    const prism = await startPrismProxy(standin.url);
    return {
      standin,
      prism,
      apiUrl: prism.url,
      async stop() {
        await prism.stop();
        await standin.close();
      },
    };
  } catch (err) {
    await standin.close();
    throw err;
  }
}

/** A GitHub App key pair for the stand-in: the private key is what GITHUB_APP_PRIVATE_KEY holds. */
export function appKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs1' }).toString(), publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** An App JWT as GitHub asks for it (RS256, `iss` the App id), for tests that call App routes by hand. */
export function appJwt(appId: number, privateKeyPem: string): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iat: now - 30, exp: now + 540, iss: String(appId) })}`;
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), privateKeyPem).toString('base64url')}`;
}
