// The playbook's decisions, without a server: what a whole compromise plans, which actions wait for a
// person and why, what a policy file may say, when npm would allow an unpublish, and how actions undo.
import { actionExpectationHolds, actionHolds, undoFor, type NpmAction, type PackageFacts } from '../core/playbook/action';
import { otpWindows, planPlaybook, type Compromise } from '../core/playbook/plan';
import { DEFAULT_POLICY, mayApprove, type Policy } from '../core/playbook/policy';
import { parsePolicy, parsePolicyText, PolicyError } from '../core/playbook/policy-file';
import { unpublishEligibility } from '../core/playbook/unpublish';

const NOW = new Date('2026-05-11T20:00:00Z');
const REGISTRY = 'https://registry.example/';
const HOUR = 3_600_000;

/** A package with good releases 1.0.0..1.0.<good-1>, then the bad ones, a week apart; `latest` on the last bad one. */
function pkg(name: string, good: number, bad: string[], extra: Partial<PackageFacts> = {}): PackageFacts {
  const versions = [...Array.from({ length: good }, (_, i) => `1.0.${i}`), ...bad];
  const published = Object.fromEntries(versions.map((v, i) => [v, new Date(NOW.getTime() - (versions.length - i) * 7 * 24 * HOUR).toISOString()]));
  return {
    name,
    state: { name, versions, distTags: { latest: bad.at(-1) ?? versions.at(-1)! }, deprecated: {} },
    published,
    maintainers: ['alice'],
    trust: [],
    staged: [],
    publishRequires2fa: true,
    ...extra,
  };
}

function compromise(overrides: Partial<Compromise>): Compromise {
  return { incident: 'incident-MAL-2026-3141', registry: REGISTRY, trigger: 'malware', severity: 'critical', releases: [], advisories: ['MAL-2026-3141'], approvedReleases: [], ...overrides };
}

const ids = (actions: readonly NpmAction[]) => actions.map((a) => `${a.id} ${a.gate}`);

describe('planPlaybook: a whole compromise', () => {
  const facts = [
    pkg('@tanstack/router', 3, ['1.1.0', '1.1.1'], {
      trust: [{ id: 'trust-1', type: 'github', claims: { repository: 'TanStack/router', workflow_ref: { file: 'release.yml' } } }],
      staged: [{ id: '0b7a5bd8-3c1e-4e55-9a57-1a3d0e4b8f10', version: '1.1.2' }],
      publishRequires2fa: false,
    }),
    pkg('@tanstack/query', 2, ['1.2.0']),
  ];
  const releases = [
    { name: '@tanstack/router', versions: ['1.1.0', '1.1.1'] },
    { name: '@tanstack/query', versions: ['1.2.0'] },
  ];

  it('deprecates every affected version of a package in one action, moves latest to the last good release, and gates what needs a person', () => {
    const plan = planPlaybook(compromise({ releases }), facts, DEFAULT_POLICY, NOW);
    expect(ids(plan.actions)).toEqual([
      'deprecate:@tanstack/query auto',
      'dist-tag:@tanstack/query:latest auto',
      'deprecate:@tanstack/router auto',
      'dist-tag:@tanstack/router:latest auto',
      'reject-staged:@tanstack/router:0b7a5bd8-3c1e-4e55-9a57-1a3d0e4b8f10 approval',
      'revoke-trust:@tanstack/router:trust-1 approval',
      'require-2fa:@tanstack/router approval',
    ]);
    const router = plan.actions.find((a) => a.id === 'dist-tag:@tanstack/router:latest');
    expect(router).toMatchObject({ from: '1.1.1', to: '1.0.2', rule: 'malware.dist-tag=auto' });
    const deprecate = plan.actions.find((a) => a.id === 'deprecate:@tanstack/router');
    expect(deprecate).toMatchObject({ versions: ['1.1.0', '1.1.1'] });
    // Our template: the marker and the advisory link, never an alert's words.
    expect(deprecate && 'message' in deprecate && deprecate.message).toMatch(/^SECURITY: .*qi:[0-9a-f]{8}; MAL-2026-3141; https:\/\/osv\.dev\/vulnerability\/MAL-2026-3141\)$/);
    expect(plan.actions.filter((a) => a.otp).map((a) => a.kind)).toEqual(['reject-staged', 'revoke-trust', 'require-2fa']);
    expect(plan.otp).toEqual({ actions: 3, passwords: 1, perWindow: 80, windowMinutes: 5 });
    expect(plan.holds).toEqual([]);
    // Unpublish is in the default policy (with approval), but npm would refuse: nobody knows the dependents.
    expect(plan.notes.filter((n) => n.startsWith('not unpublishing'))).toHaveLength(3);
  });

  it('plans nothing for a vulnerability, and nothing for an alert below the policy\'s severity', () => {
    expect(planPlaybook(compromise({ releases, trigger: 'vulnerability' }), facts, DEFAULT_POLICY, NOW).actions).toEqual([]);
    const strict: Policy = { ...DEFAULT_POLICY, triggers: { ...DEFAULT_POLICY.triggers, malware: { ...DEFAULT_POLICY.triggers.malware, minSeverity: 'high' } } };
    const low = planPlaybook(compromise({ releases, severity: 'low' }), facts, strict, NOW);
    expect(low.actions).toEqual([]);
    expect(low.notes.join('\n')).toMatch(/below the policy's minimum \(high\)/);
  });

  it('holds an alert that names more versions than the limit, or every version, and lets an on-call command with the same releases through', () => {
    const many = Array.from({ length: 12 }, (_, i) => `2.0.${i}`);
    const wide = [pkg('@acme/wide', 2, many), pkg('@acme/all', 0, ['3.0.0', '3.0.1'])];
    const wideReleases = [
      { name: '@acme/wide', versions: many },
      { name: '@acme/all', versions: ['3.0.0', '3.0.1'] },
    ];
    const alert = planPlaybook(compromise({ releases: wideReleases }), wide, DEFAULT_POLICY, NOW);
    expect(alert.actions.filter((a) => a.kind === 'deprecate').map((a) => a.gate)).toEqual(['approval', 'approval']);
    expect(alert.holds.map((h) => h.reason).join('\n')).toMatch(/@acme\/wide: 12 versions, more than the limit of 10/);
    expect(alert.holds.map((h) => h.reason).join('\n')).toMatch(/@acme\/all: all 2 published versions are affected/);

    const onCall = planPlaybook(compromise({ releases: wideReleases, trigger: 'on-call', approvedReleases: wideReleases.flatMap((r) => r.versions.map((v) => `${r.name}@${v}`)) }), wide, DEFAULT_POLICY, NOW);
    expect(onCall.actions.filter((a) => a.kind === 'deprecate').map((a) => a.gate)).toEqual(['auto', 'auto']);
    expect(onCall.actions.find((a) => a.kind === 'deprecate')!.rule).toMatch(/on-call command names these exact releases/);
    expect(onCall.holds).toEqual([]);
  });

  it('holds every package of an alert that touches more packages than the policy allows, and the report\'s own over-broad range', () => {
    const small: Policy = { ...DEFAULT_POLICY, limits: { ...DEFAULT_POLICY.limits, packagesPerIncident: 1 } };
    const plan = planPlaybook(compromise({ releases }), facts, small, NOW);
    expect(plan.actions.every((a) => a.gate === 'approval')).toBe(true);
    expect(plan.holds[0]!.reason).toMatch(/2 packages, more than the policy's limit of 1/);
    const ranged = planPlaybook(compromise({ releases, overBroad: ['the range >=0.0.1 covers every release'] }), facts, DEFAULT_POLICY, NOW);
    expect(ranged.actions.filter((a) => a.kind === 'deprecate').map((a) => a.gate)).toEqual(['approval', 'approval']);
  });

  it('plans an unpublish only where npm would allow it, always gated, and says why for the rest', () => {
    const fresh = pkg('@acme/fresh', 2, ['1.3.0'], { dependents: 0, downloadsLastWeek: 5000 });
    fresh.published['1.3.0'] = new Date(NOW.getTime() - 5 * HOUR).toISOString();
    const old = pkg('@acme/old', 2, ['1.3.0'], { dependents: 0, downloadsLastWeek: 5000 });
    const plan = planPlaybook(compromise({ releases: [{ name: '@acme/fresh', versions: ['1.3.0'] }, { name: '@acme/old', versions: ['1.3.0'] }] }), [fresh, old], DEFAULT_POLICY, NOW);
    const unpublish = plan.actions.filter((a) => a.kind === 'unpublish');
    expect(unpublish.map((a) => `${a.id} ${a.gate}`)).toEqual(['unpublish:@acme/fresh@1.3.0 approval']);
    expect(plan.notes).toContain('not unpublishing @acme/old@1.3.0: @acme/old@1.3.0 is older than 72 hours and 5000 downloads last week (npm allows fewer than 300); deprecated and its tags moved instead');
    // Deprecation and the tag move still happen at once for both.
    expect(plan.actions.filter((a) => a.kind === 'deprecate' && a.gate === 'auto')).toHaveLength(2);
  });

  it('plans token revocation only with approval, and says to sweep the hosts first', () => {
    const plan = planPlaybook(compromise({ trigger: 'leaked-token', tokens: ['a1b2c3', 'a1b2c3'] }), [], DEFAULT_POLICY, NOW);
    expect(ids(plan.actions)).toEqual(['revoke-token:a1b2c3 approval']);
    expect(plan.actions[0]!.why).toMatch(/hosts that held it were swept/);
  });

  it('notes a package it could not read and a version the registry does not have, and plans the rest', () => {
    const plan = planPlaybook(compromise({ releases: [...releases, { name: '@tanstack/gone', versions: ['1.0.0'] }] }), facts, DEFAULT_POLICY, NOW);
    expect(plan.blockers).toContain(`@tanstack/gone is not on ${REGISTRY}: nothing planned for it`);
    expect(plan.actions.filter((a) => a.kind === 'deprecate')).toHaveLength(2);
    const missing = planPlaybook(compromise({ releases: [{ name: '@tanstack/query', versions: ['1.2.0', '9.9.9'] }] }), facts, DEFAULT_POLICY, NOW);
    expect(missing.blockers.join('\n')).toMatch(/@tanstack\/query@9\.9\.9 is not on the registry/);
    expect(missing.actions.find((a) => a.kind === 'deprecate')).toMatchObject({ versions: ['1.2.0'] });
  });

  it('splits password-gated writes into npm\'s windows: 170 writes at 80 a password ask for 3', () => {
    const many = Array.from({ length: 170 }, (_, i) => pkg(`@acme/p${String(i).padStart(3, '0')}`, 1, ['1.1.0'], { publishRequires2fa: false }));
    const plan = planPlaybook(compromise({ trigger: 'on-call', approvedReleases: many.map((p) => `${p.name}@1.1.0`), releases: many.map((p) => ({ name: p.name, versions: ['1.1.0'] })) }), many, DEFAULT_POLICY, NOW);
    expect(plan.otp).toEqual({ actions: 170, passwords: 3, perWindow: 80, windowMinutes: 5 });
    expect(otpWindows(plan.actions, DEFAULT_POLICY).map((w) => w.length)).toEqual([80, 80, 10]);
  });
});

describe('unpublishEligibility (npm policy)', () => {
  const base = pkg('@acme/u', 1, ['2.0.0'], { dependents: 0, downloadsLastWeek: 10 });
  it('allows within 72 hours without dependents, and after with few downloads and one owner', () => {
    const young = { ...base, published: { ...base.published, '2.0.0': new Date(NOW.getTime() - 71 * HOUR).toISOString() } };
    expect(unpublishEligibility(young, '2.0.0', NOW)).toMatchObject({ eligible: true, why: expect.stringMatching(/71 hours ago/) });
    expect(unpublishEligibility(base, '2.0.0', NOW).eligible).toBe(true);
  });
  it('refuses with dependents, unknown dependents, 300 downloads or two owners, naming the condition', () => {
    expect(unpublishEligibility({ ...base, dependents: 2 }, '2.0.0', NOW)).toEqual({ eligible: false, why: '2 public packages depend on @acme/u' });
    expect(unpublishEligibility({ ...base, dependents: undefined }, '2.0.0', NOW).why).toMatch(/unknown/);
    expect(unpublishEligibility({ ...base, downloadsLastWeek: 300 }, '2.0.0', NOW).why).toMatch(/300 downloads last week/);
    expect(unpublishEligibility({ ...base, maintainers: ['alice', 'bob'] }, '2.0.0', NOW).why).toMatch(/2 owners/);
  });
});

describe('policy file', () => {
  it('takes a partial policy over the safe default', () => {
    const policy = parsePolicy({ version: 1, approvers: [{ name: 'alice', may: ['all'] }, { name: 'bob', may: ['deprecate', 'dist-tag'] }], limits: { versionsPerPackage: 100 } });
    expect(policy.limits).toEqual({ versionsPerPackage: 100, packagesPerIncident: 50 });
    expect(policy.triggers.malware.actions.deprecate).toBe('auto');
    expect(mayApprove(policy, 'alice', 'unpublish')).toBe(true);
    expect(mayApprove(policy, 'bob', 'unpublish')).toBe(false);
    expect(mayApprove(policy, 'mallory', 'deprecate')).toBe(false);
    expect(mayApprove(DEFAULT_POLICY, 'alice', 'deprecate')).toBe(false);
  });

  it.each([
    [{ version: 1, triggers: { malware: { actions: { unpublish: 'auto' } } } }, /triggers\.malware\.actions\.unpublish: unpublish always waits for a person/],
    [{ version: 1, triggers: { 'on-call': { actions: { 'revoke-trust': 'auto' } } } }, /one-time password for revoke-trust/],
    [{ version: 1, triggers: { vulnerability: { actions: { deprecate: 'auto' } } } }, /a vulnerability is recorded, never written/],
    [{ version: 1, limts: {} }, /policy \(top level\): unknown field limts/],
    [{ version: 2 }, /policy version/],
    [{ version: 1, approvers: [{ name: 'a b', may: ['all'] }] }, /approvers\[0\]\.name/],
    [{ version: 1, triggers: { malware: { actions: { deprecate: 'sometimes' } } } }, /triggers\.malware\.actions\.deprecate/],
  ])('refuses %j', (json, message) => {
    expect(() => parsePolicy(json)).toThrow(PolicyError);
    expect(() => parsePolicy(json)).toThrow(message);
  });

  it('names the file when its text is not JSON', () => {
    expect(() => parsePolicyText('{version: 1', '/etc/quarantine/policy.json')).toThrow(/^\/etc\/quarantine\/policy\.json: not valid JSON/);
  });
});

describe('actions: verify, expectations and undo', () => {
  const facts = pkg('@acme/core', 2, ['1.2.3']);
  const tagMove: NpmAction = { id: 'dist-tag:@acme/core:latest', kind: 'dist-tag', registry: REGISTRY, gate: 'auto', otp: false, rule: 'r', why: 'w', package: '@acme/core', tag: 'latest', from: '1.2.3', to: '1.0.1' };
  const deprecate: NpmAction = { id: 'deprecate:@acme/core', kind: 'deprecate', registry: REGISTRY, gate: 'auto', otp: false, rule: 'r', why: 'w', package: '@acme/core', versions: ['1.2.3'], message: 'SECURITY (qi:1234abcd)', marker: 'qi:1234abcd' };

  it('a tag moved by someone since the read is not the planned write', () => {
    expect(actionExpectationHolds(tagMove, facts)).toBe(true);
    const moved = { ...facts, state: { ...facts.state, distTags: { latest: '1.0.0' } } };
    expect(actionExpectationHolds(tagMove, moved)).toBe(false);
    expect(actionHolds(tagMove, moved)).toBe(false);
    expect(actionHolds(tagMove, { ...facts, state: { ...facts.state, distTags: { latest: '1.0.1' } } })).toBe(true);
  });

  it('undoes a deprecation by putting back the messages it replaced, and a tag move by moving it back compare-and-set', () => {
    const undo = undoFor(deprecate, { deprecated: { '1.2.3': 'old maintainer note' } });
    expect(undo).toMatchObject({ undo: { kind: 'restore-deprecations', messages: { '1.2.3': 'old maintainer note' } } });
    expect(undoFor(deprecate, { deprecated: {} })).toMatchObject({ undo: { messages: { '1.2.3': '' } } });
    expect(undoFor(tagMove, undefined)).toMatchObject({ undo: { kind: 'dist-tag', tag: 'latest', from: '1.0.1', to: '1.2.3' } });
  });

  it('lists an unpublish, a rejected staged publish and a revoked token as not undoable, and leaves a 2FA setting that was already on', () => {
    const unpublish: NpmAction = { id: 'u', kind: 'unpublish', registry: REGISTRY, gate: 'approval', otp: false, rule: 'r', why: 'w', package: '@acme/core', version: '1.2.3' };
    expect(undoFor(unpublish, undefined)).toEqual({ irreversible: 'npm never lets @acme/core@1.2.3 be published again once unpublished' });
    const token: NpmAction = { id: 't', kind: 'revoke-token', registry: REGISTRY, gate: 'approval', otp: false, rule: 'r', why: 'w', tokenKey: 'k' };
    expect(undoFor(token, undefined)).toHaveProperty('irreversible');
    const twoFactor: NpmAction = { id: 'f', kind: 'require-2fa', registry: REGISTRY, gate: 'approval', otp: true, rule: 'r', why: 'w', package: '@acme/core' };
    expect(undoFor(twoFactor, { publishRequires2fa: true, automationTokenOverrides2fa: false })).toHaveProperty('nothing');
    expect(undoFor(twoFactor, { publishRequires2fa: false, automationTokenOverrides2fa: true })).toMatchObject({
      undo: { kind: 'restore-publish-access', gate: 'approval', otp: true, settings: { publishRequires2fa: false, automationTokenOverrides2fa: true } },
    });
  });
});
