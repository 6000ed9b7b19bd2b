// Which reports may lead to a registry write. Pure: routing, the blast radius and the containment
// workflow all ask this one question, so that a vulnerability or a withdrawn report can never write
// by one path while another refuses it.
import type { AlertKind } from './alert';
import type { Report } from './incident';

/** Alert kinds that contain on their own: the release itself is malicious, not merely buggy. */
export const CONTAINING_KINDS: readonly AlertKind[] = ['malware', 'compromised-build'];

/**
 * Whether a report, by itself, authorises containment writes: an on-call person's explicit report
 * (no scanner alert behind it), or a live malware or compromised-build alert. A vulnerability of any
 * severity, a leaked token (its containment is revocation) and anything withdrawn, dismissed or fixed
 * never do: they are recorded and shown.
 */
export function reportAuthorizesWrites(report: Pick<Report, 'alert'>): boolean {
  const alert = report.alert;
  if (alert === undefined) return true;
  return !alert.withdrawn && CONTAINING_KINDS.includes(alert.kind);
}

/** An on-call person's explicit report (`quarantine <spec>`): the approval for the exact releases it names. */
export function isOnCallReport(report: Pick<Report, 'alert'>): boolean {
  return report.alert === undefined;
}
