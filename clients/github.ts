// GitHub's REST API through @octokit/rest, authenticated as the worker is configured: a token
// (GITHUB_TOKEN), or a GitHub App (its installation on each repository found through
// `GET /repos/{owner}/{repo}/installation`, installation tokens minted and renewed by @octokit/auth-app).
// Rate limits and transient failures are octokit's plugins' (throttling, retry); what they give up on
// is the caller's to sort (githubFailure). Credentials live in this module's closure only.
import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
// The throttling plugin's own scheduler (its dependency): a write pace other than GitHub's default is a group of it.
import Bottleneck from 'bottleneck';

export const PUBLIC_GITHUB_API = 'https://api.github.com';

export type GithubAuth = { kind: 'token'; token: string } | { kind: 'app'; appId: string; privateKey: string };

export interface GithubSettings {
  /** GITHUB_API_URL: GitHub Enterprise Server's `https://<host>/api/v3`, or a stand-in. */
  apiUrl: string;
  auth: GithubAuth;
  /** Retries of one request by octokit's retry plugin on a 5xx or a network failure (default 2). */
  retries?: number;
  /**
   * Time between two writes of this worker (default 1000 ms, GitHub's advice against its secondary rate
   * limits, octokit's throttling default): a purge of 300 caches then takes 5 minutes. 0 for a GitHub
   * Enterprise Server without secondary limits, or a stand-in.
   */
  writeIntervalMs?: number;
}

const GithubOctokitClass = Octokit.plugin(retry, throttling);

export type GithubOctokit = InstanceType<typeof GithubOctokitClass>;

export interface GithubClient {
  /** An octokit allowed to act on `owner/repo` (the App's installation token there, or the token). */
  forRepository(owner: string, repo: string): Promise<GithubOctokit>;
}

/** What octokit raises for an HTTP answer; `response.data` is an ArrayBuffer for Prism's problem+json. */
export interface OctokitHttpError {
  status: number;
  message: string;
  response?: { data?: unknown; headers?: Record<string, string | undefined> };
}

export function isHttpError(err: unknown): err is OctokitHttpError {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number' && (err as { name?: unknown }).name === 'HttpError';
}

/** GitHub's (or Prism's) own words for a refusal, decoded whatever form the body came in. */
export function githubMessage(err: OctokitHttpError): string {
  let data = err.response?.data;
  if (data instanceof ArrayBuffer) data = Buffer.from(data).toString('utf8');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data);
    } catch {
      return (data as string).slice(0, 300);
    }
  }
  if (typeof data === 'object' && data !== null) {
    const { message, detail, title } = data as { message?: unknown; detail?: unknown; title?: unknown };
    const text = [message, title, detail].find((v) => typeof v === 'string');
    if (typeof text === 'string') return text.slice(0, 300);
  }
  return `HTTP ${err.status}`;
}

export function createGithubClient(settings: GithubSettings, log: (line: string) => void = () => undefined): GithubClient {
  const retries = settings.retries ?? 2;
  const options = {
    baseUrl: settings.apiUrl.replace(/\/+$/, ''),
    userAgent: 'quarantine',
    retry: { retries },
    throttle: {
      ...(settings.writeIntervalMs === undefined ? {} : { write: new Bottleneck.Group({ id: 'quarantine-github-write', maxConcurrent: 1, minTime: settings.writeIntervalMs }) }),
      // Wait as GitHub says, a couple of times; then the activity's failure is Temporal's to retry.
      onRateLimit: (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
        log(`GitHub rate limit on ${request.method} ${request.url}: retry in ${retryAfter} s`);
        return retryCount < 2;
      },
      onSecondaryRateLimit: (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
        log(`GitHub secondary rate limit on ${request.method} ${request.url}: retry in ${retryAfter} s`);
        return retryCount < 2;
      },
    },
    // octokit's own log would print request URLs with warnings; the caller decides what is logged.
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  };
  const { auth } = settings;
  if (auth.kind === 'token') {
    const octokit = new GithubOctokitClass({ ...options, auth: auth.token });
    return { forRepository: async () => octokit };
  }
  const app = new GithubOctokitClass({ ...options, authStrategy: createAppAuth, auth: { appId: auth.appId, privateKey: auth.privateKey } });
  const installations = new Map<number, GithubOctokit>();
  const installationOf = new Map<string, number>();
  return {
    async forRepository(owner, repo) {
      const key = `${owner}/${repo}`.toLowerCase();
      let id = installationOf.get(key);
      if (id === undefined) {
        id = (await app.rest.apps.getRepoInstallation({ owner, repo })).data.id;
        installationOf.set(key, id);
      }
      let octokit = installations.get(id);
      if (!octokit) {
        octokit = new GithubOctokitClass({ ...options, authStrategy: createAppAuth, auth: { appId: auth.appId, privateKey: auth.privateKey, installationId: id } });
        installations.set(id, octokit);
      }
      return octokit;
    },
  };
}
