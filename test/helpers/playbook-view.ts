// A playbook incident's view as the workflow answers it, for the timeline's pure tests: two packages
// contained, a trusted publisher waiting for an approver, and a report whose reason is hostile.
import type { PlaybookView } from '../../core/playbook/view';

export const HOSTILE_REASON = '<script>alert(1)</script><img src=x onerror=alert(2)> # heading\n| cell | [x](javascript:alert(3)) `code` \u001b[31mred';

export function samplePlaybookView(overrides: Partial<PlaybookView> = {}): PlaybookView {
  const registry = 'http://127.0.0.1:4873/';
  const deprecate = { id: 'deprecate:@acme/core', registry, gate: 'auto' as const, otp: false, rule: 'malware.deprecate=auto', why: 'compromised', kind: 'deprecate' as const, package: '@acme/core', versions: ['1.2.3'], message: 'SECURITY', marker: 'qi:0000' };
  const tag = { id: 'dist-tag:@acme/core#latest', registry, gate: 'auto' as const, otp: false, rule: 'malware.dist-tag=auto', why: 'latest on a bad release', kind: 'dist-tag' as const, package: '@acme/core', tag: 'latest', from: '1.2.3', to: '1.2.2' };
  const trust = { id: 'revoke-trust:@acme/cli:t1', registry, gate: 'approval' as const, otp: true, rule: 'malware.revoke-trust=approval', why: 'the publisher may be compromised', kind: 'revoke-trust' as const, package: '@acme/cli', trust: { id: 't1', type: 'github', claims: {} } };
  return {
    incident: 'compromise-MAL-2025-1-abcdef12',
    registry,
    compromise: { incident: 'compromise-MAL-2025-1-abcdef12', registry, trigger: 'malware', severity: 'critical', releases: [{ name: '@acme/core', versions: ['1.2.3'] }, { name: '@acme/cli', versions: ['2.0.1'] }], advisories: ['MAL-2025-1', 'GHSA-vm4q-9x8h-5w7q'], approvedReleases: [] },
    status: 'contained',
    actions: [
      { action: deprecate, status: 'done', before: { deprecated: {} }, after: { deprecated: { '1.2.3': 'SECURITY' } }, changed: true },
      { action: tag, status: 'done', before: '1.2.3', after: '1.2.2', changed: true },
      { action: trust, status: 'waiting' },
    ],
    holds: [],
    notes: ['unpublish not planned: the package has dependents'],
    blockers: [],
    unresolved: [],
    otp: { actions: 1, passwords: 1, perWindow: 80, windowMinutes: 5 },
    reports: [{ reportId: 'r1', requestedBy: 'osv:MAL-2025-1', reason: HOSTILE_REASON, at: '2025-01-01T10:00:00.000Z', alert: { source: 'osv', sourceId: 'MAL-2025-1', kind: 'malware', severity: 'critical', aliases: ['GHSA-vm4q-9x8h-5w7q'], evidence: ['https://osv.dev/vulnerability/MAL-2025-1', 'javascript:alert(4)'], withdrawn: false } }],
    reportCount: 1,
    events: [
      { seq: 1, at: '2025-01-01T10:00:00.000Z', actor: 'osv:MAL-2025-1', phase: 'report', detail: `malware: @acme/core@1.2.3 @acme/cli@2.0.1; authorises writes: ${HOSTILE_REASON}` },
      { seq: 2, at: '2025-01-01T10:00:00.300Z', actor: 'quarantine', phase: 'planned', detail: 'first report: 2 of 2 packages read', evidence: ['unpublish not planned'] },
      { seq: 3, at: '2025-01-01T10:00:00.400Z', actor: 'quarantine', phase: 'succeeded', actionId: tag.id, target: 'npm:@acme/core#latest', before: '1.2.3', after: '1.2.2', detail: 'move dist-tag latest of @acme/core from 1.2.3 to 1.2.2: done' },
      { seq: 4, at: '2025-01-01T10:00:00.500Z', actor: 'quarantine', phase: 'succeeded', actionId: deprecate.id, target: 'npm:@acme/core', before: { deprecated: {} }, after: { deprecated: { '1.2.3': 'SECURITY' } }, detail: 'deprecate @acme/core@1.2.3: done' },
      { seq: 5, at: '2025-01-01T10:00:00.600Z', actor: 'quarantine', phase: 'approval-requested', actionId: trust.id, target: 'npm:@acme/cli', detail: 'revoke the github trusted publisher t1 of @acme/cli: waits for an approver' },
      { seq: 6, at: '2025-01-01T10:00:00.800Z', actor: 'quarantine', phase: 'verified', actionId: deprecate.id, target: 'npm:@acme/core', detail: 'deprecate @acme/core@1.2.3: read back in place' },
      { seq: 7, at: '2025-01-01T10:00:01.000Z', actor: 'bob', phase: 'refused', actionId: trust.id, detail: 'approve refused: bob may not approve revoke-trust under the policy' },
      { seq: 8, at: '2025-01-01T10:00:01.100Z', actor: 'quarantine', phase: 'failed', target: 'npm-token:abc', detail: 'revoke the npm token abc: denied' },
    ],
    eventsDropped: 0,
    startedAt: '2025-01-01T10:00:00.000Z',
    containedAt: '2025-01-01T10:00:00.800Z',
    ...overrides,
  };
}
