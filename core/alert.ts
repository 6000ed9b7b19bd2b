import type { BuildQuery } from './blast-radius';

// The one shape every alert source is parsed into. Alert content is attacker-controlled: parsers
// validate it (zod) into this shape, and nothing here is trusted beyond "well-formed".

export type AlertSource = 'github' | 'socket' | 'osv' | 'npm-audit' | 'pnpm-audit' | 'generic';

/** What kind of compromise the alert claims; decides what containment means. */
export type AlertKind = 'malware' | 'vulnerability' | 'compromised-build' | 'leaked-token';

export type AlertSeverity = 'low' | 'moderate' | 'high' | 'critical' | 'unknown';

/** An OSV range, kept as given: the blast-radius code evaluates it with OSV's own semantics. */
export interface OsvRange {
  type: 'SEMVER' | 'ECOSYSTEM';
  events: ({ introduced: string } | { fixed: string } | { last_affected: string } | { limit: string })[];
}

export interface AffectedPackage {
  /** A valid npm package name. */
  name: string;
  /** Exact versions named by the alert. */
  versions: string[];
  /** semver ranges as the source gave them (e.g. ">= 1.2.0, < 1.2.4" normalised to npm syntax). */
  ranges: string[];
  /** OSV ranges, for sources that speak OSV. */
  osvRanges: OsvRange[];
}

/** A leaked credential (GitHub secret scanning): its containment is revoking the token. */
export interface LeakedToken {
  /** The secret scanner's type, e.g. "npm_access_token". Never the secret itself. */
  secretType: string;
  repository?: string;
  alertNumber?: number;
  url?: string;
}

export interface NormalizedAlert {
  source: AlertSource;
  /** The source's own id for this alert: GHSA id, MAL id, Socket alert id, ... */
  sourceId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  /** One line, for people. */
  title: string;
  packages: AffectedPackage[];
  /** Other ids of the same compromise (GHSA-, CVE-, MAL-), the source's own id excluded. */
  aliases: string[];
  /** Links to evidence (advisory pages, scanner reports); http(s) only. */
  evidence: string[];
  leakedToken?: LeakedToken;
  /** For a compromised build: which runs, commits, workflow or time window (our releases it built are affected). */
  build?: BuildQuery;
  /** True when the source says the alert is withdrawn, dismissed or fixed: recorded, never acted on. */
  withdrawn: boolean;
}

/** A request the intake refuses: the HTTP status and the offending field, for a 4xx answer. */
export class AlertRejection extends Error {
  override readonly name = 'AlertRejection';
  constructor(
    readonly status: 400 | 401 | 413 | 415 | 422,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
