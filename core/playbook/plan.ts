// The containment playbook's planner: a whole compromise (every package and version it touches) and
// what the registry says about each package, in; a list of gated actions, out. Pure: the workflow runs
// it between reads, `quarantine --plan` prints it, tests call it without a server.
import type { AlertSeverity } from '../alert';
import type { Report } from '../incident';
import { deprecationMessage, incidentMarker, planContainment } from '../plan';
import type { ActionDraft, NpmAction, NpmActionKind, PackageFacts } from './action';
import { OTP_ACTIONS, ruleFor, severityQualifies, type Policy, type Trigger } from './policy';
import { unpublishEligibility } from './unpublish';

/** What the incident knows of the compromise: the exact releases, and why they are suspect. */
export interface Compromise {
  incident: string;
  registry: string;
  trigger: Trigger;
  severity: AlertSeverity;
  /** Exact versions per package. */
  releases: { name: string; versions: string[] }[];
  /** Advisory ids from the reports (only strict forms reach a deprecation message). */
  advisories: string[];
  /** An on-call person's own words, for the deprecation message. */
  reason?: string;
  /**
   * Releases (`name@version`) an on-call person's command named exactly: their approval for deprecating
   * those and moving their tags, however many; not for unpublish or revocations.
   */
  approvedReleases: string[];
  /** Keys of npm tokens the report says leaked (never the tokens themselves). */
  tokens?: string[];
  /** Why the report itself is too broad to act on alone (a range that covers every release). */
  overBroad?: string[];
}

/** A report of (part of) a compromise: which of our releases it names, and why. */
export interface CompromiseReport {
  report: Report;
  /** Exact versions per package; a later report may add to the incident's. */
  releases: { name: string; versions: string[] }[];
  advisories?: string[];
  /** Keys of npm tokens the report says leaked. */
  tokens?: string[];
  /** Ranges it names beside its releases that name no release in particular (Compromise.overBroad). */
  overBroad?: string[];
}

/** What starts a playbook incident, as the intake journals it (the policy is added when it is sent). */
export interface PlaybookStart {
  compromise: Compromise;
  first: CompromiseReport;
}

export interface Hold {
  package?: string;
  reason: string;
}

export interface PlaybookPlan {
  incident: string;
  trigger: Trigger;
  actions: NpmAction[];
  /** What waits for a person beyond the gates the policy sets, and why (limits, over-broad). */
  holds: Hold[];
  /** What the plan cannot do by itself or chose not to do, in plain words. */
  notes: string[];
  /** Releases it cannot act on at all (not on the registry, a package that cannot be read): the incident is not contained. */
  blockers: string[];
  /** What stays unsafe after the plan and needs a person (`latest` with no safe release to move to). */
  unresolved: string[];
  /** One-time passwords the plan will ask for: npm takes `perWindow` writes on one before it prompts again. */
  otp: { actions: number; passwords: number; perWindow: number; windowMinutes: number };
}

/** Packages in a stable order (by name), so plans, ids and timelines read the same every time. */
function byName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function planPlaybook(compromise: Compromise, facts: readonly PackageFacts[], policy: Policy, now: Date): PlaybookPlan {
  const { incident, registry, trigger } = compromise;
  const actions: NpmAction[] = [];
  const holds: Hold[] = [];
  const notes: string[] = [];
  const blockers: string[] = [];
  const unresolved: string[] = [];
  const factsOf = new Map(facts.map((f) => [f.name, f]));
  const plan = (): PlaybookPlan => ({ incident, trigger, actions, holds, notes, blockers, unresolved, otp: otpNeeds(actions, policy) });

  if (!severityQualifies(policy, trigger, compromise.severity)) {
    notes.push(`a ${compromise.severity}-severity ${trigger} report is below the policy's minimum (${policy.triggers[trigger].minSeverity}): recorded, nothing planned`);
    return plan();
  }
  const approved = new Set(compromise.approvedReleases);
  const approvedAll = compromise.releases.every((r) => r.versions.every((v) => approved.has(`${r.name}@${v}`)));
  if (!approvedAll) {
    for (const reason of compromise.overBroad ?? []) holds.push({ reason });
    if (compromise.releases.length > policy.limits.packagesPerIncident) {
      holds.push({ reason: `${compromise.releases.length} packages, more than the policy's limit of ${policy.limits.packagesPerIncident} for an alert alone (limits.packagesPerIncident)` });
    }
  }
  const incidentHeld = holds.length > 0;
  // A command that approves every exact release still approves no over-broad range beside them: that
  // stays a person's, shown as a hold, while the releases it named are contained.
  if (approvedAll) for (const reason of compromise.overBroad ?? []) holds.push({ reason });
  const message = deprecationMessage(incident, { advisories: compromise.advisories, ...(compromise.reason ? { reason: compromise.reason } : {}) });
  const marker = incidentMarker(incident);

  /**
   * Adds an action under the policy's rule. A held package's automatic actions wait for a person too,
   * except what an on-call command approved by naming the exact releases (deprecate, move tags).
   */
  const add = (kind: NpmActionKind, packageHeld: boolean, action: ActionDraft, packageApproved = false): void => {
    const { rule, name } = ruleFor(policy, trigger, kind);
    if (rule === 'off') return;
    const approvedByCommand = packageApproved && (kind === 'deprecate' || kind === 'dist-tag');
    const waitsForHold = rule === 'auto' && packageHeld && !approvedByCommand;
    const gate = rule === 'auto' && !waitsForHold ? 'auto' : 'approval';
    const ruleName = waitsForHold ? `${name}, held (see the holds)` : approvedByCommand && rule === 'auto' ? `${name} (the on-call command names these exact releases)` : name;
    actions.push({ ...action, registry, gate, otp: OTP_ACTIONS.includes(kind), rule: ruleName } as NpmAction);
  };

  for (const release of byName(compromise.releases)) {
    const pkg = factsOf.get(release.name);
    if (!pkg) {
      blockers.push(`${release.name} is not on ${registry}: nothing planned for it`);
      continue;
    }
    const containment = planContainment(pkg.state, release.versions, message, marker, { maxVersions: policy.limits.versionsPerPackage });
    const present = containment.affected.filter((v) => pkg.state.versions.includes(v));
    blockers.push(...containment.blockers.filter((b) => b !== 'no affected version was named'));
    unresolved.push(...containment.unresolved);
    if (present.length === 0) continue;
    const packageApproved = present.every((v) => approved.has(`${release.name}@${v}`));
    const packageReasons = packageApproved ? [] : containment.overBroad.map((reason) => `${release.name}: ${reason}`);
    for (const reason of packageReasons) holds.push({ package: release.name, reason });
    const held = incidentHeld || packageReasons.length > 0;

    if (containment.deprecate.length > 0) {
      const readBefore = Object.fromEntries(containment.deprecate.filter((v) => pkg.state.deprecated[v] !== undefined).map((v) => [v, pkg.state.deprecated[v]!]));
      add('deprecate', held, { kind: 'deprecate', id: `deprecate:${release.name}`, package: release.name, versions: containment.deprecate, message, marker, readBefore, why: `${containment.deprecate.length} affected version${containment.deprecate.length === 1 ? '' : 's'} warn every installer` }, packageApproved);
    }
    for (const move of containment.tagMoves) {
      add('dist-tag', held, {
        kind: 'dist-tag',
        id: `dist-tag:${release.name}:${move.tag}`,
        package: release.name,
        tag: move.tag,
        from: move.from,
        to: move.to,
        ...(move.to !== null ? { refuseDeprecatedTarget: true } : {}),
        why: move.to === null ? `the ${move.tag} tag points at an affected version` : `${move.tag} must not install an affected version`,
      }, packageApproved);
    }
    if (ruleFor(policy, trigger, 'unpublish').rule !== 'off') {
      for (const version of present) {
        const eligibility = unpublishEligibility(pkg, version, now);
        if (eligibility.eligible) {
          add('unpublish', held, { kind: 'unpublish', id: `unpublish:${release.name}@${version}`, package: release.name, version, why: eligibility.why });
        } else {
          notes.push(`not unpublishing ${release.name}@${version}: ${eligibility.why}; deprecated and its tags moved instead`);
        }
      }
    }
    planAccountActions(pkg, held, add, notes, policy, trigger);
  }
  for (const tokenKey of [...new Set(compromise.tokens ?? [])].sort()) {
    add('revoke-token', incidentHeld, { kind: 'revoke-token', id: `revoke-token:${tokenKey}`, tokenKey, why: 'the report names this token as leaked; approve only once the hosts that held it were swept (2025-26 payloads wipe the home directory when their token is revoked)' });
  }
  return plan();
}

/** Staged publishes, trusted publishers and the 2FA setting of an affected package. */
function planAccountActions(
  pkg: PackageFacts,
  held: boolean,
  add: (kind: NpmActionKind, held: boolean, action: ActionDraft) => void,
  notes: string[],
  policy: Policy,
  trigger: Trigger,
): void {
  const wanted = (kind: NpmActionKind) => ruleFor(policy, trigger, kind).rule !== 'off';
  if (wanted('reject-staged')) {
    if (pkg.staged === undefined) notes.push(`${pkg.name}: staged publishes could not be read; none rejected`);
    for (const staged of pkg.staged ?? []) {
      add('reject-staged', held, { kind: 'reject-staged', id: `reject-staged:${pkg.name}:${staged.id}`, package: pkg.name, stageId: staged.id, version: staged.version, why: 'a publish staged during a compromise may be the attacker\'s' });
    }
  }
  if (wanted('revoke-trust')) {
    if (pkg.trust === undefined) notes.push(`${pkg.name}: trusted publishers could not be read; none revoked`);
    for (const trust of pkg.trust ?? []) {
      add('revoke-trust', held, { kind: 'revoke-trust', id: `revoke-trust:${pkg.name}:${trust.id}`, package: pkg.name, trust, why: 'the trusted publisher lets the (possibly compromised) workflow publish without a token' });
    }
  }
  if (wanted('require-2fa')) {
    if (pkg.publishRequires2fa === undefined) notes.push(`${pkg.name}: its publishing 2FA setting could not be read; not changed`);
    else if (!pkg.publishRequires2fa) {
      add('require-2fa', held, { kind: 'require-2fa', id: `require-2fa:${pkg.name}`, package: pkg.name, why: 'publishing with a stolen token alone must stop' });
    }
  }
}

/** How many one-time passwords the plan's password-gated writes need, at npm's pace. */
export function otpNeeds(actions: readonly NpmAction[], policy: Policy): PlaybookPlan['otp'] {
  const count = actions.filter((a) => a.otp).length;
  const perWindow = policy.otp.actionsPerWindow;
  return { actions: count, passwords: Math.ceil(count / perWindow), perWindow, windowMinutes: policy.otp.windowMinutes };
}

/** The plan's actions split into windows of one password each, in plan order. */
export function otpWindows(actions: readonly NpmAction[], policy: Policy): NpmAction[][] {
  const gated = actions.filter((a) => a.otp);
  const windows: NpmAction[][] = [];
  for (let i = 0; i < gated.length; i += policy.otp.actionsPerWindow) windows.push(gated.slice(i, i + policy.otp.actionsPerWindow));
  return windows;
}

/** Adds `releases` to the compromise's (new packages, new versions); returns whether anything was added. */
export function mergeReleases(compromise: Compromise, releases: readonly { name: string; versions: string[] }[]): boolean {
  let grew = false;
  for (const release of releases) {
    const known = compromise.releases.find((r) => r.name === release.name);
    if (!known) {
      compromise.releases.push({ name: release.name, versions: [...new Set(release.versions)] });
      grew = true;
      continue;
    }
    for (const version of release.versions) {
      if (known.versions.includes(version)) continue;
      known.versions.push(version);
      grew = true;
    }
  }
  return grew;
}
