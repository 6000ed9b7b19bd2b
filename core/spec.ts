// Parsing of what an on-call engineer types: `<name>@<exact version>`. Pure: no I/O.
import validateName from 'validate-npm-package-name';
import * as semver from 'semver';

export interface ReleaseSpec {
  name: string;
  version: string;
}

export class InvalidSpecError extends Error {
  override readonly name = 'InvalidSpecError';
}

/** The longest name npm accepts; longer input is refused before it is echoed anywhere. */
const MAX_SPEC_LENGTH = 214 + 1 + 256;

export function parseReleaseSpec(input: string): ReleaseSpec {
  if (input.length > MAX_SPEC_LENGTH) throw new InvalidSpecError('the package spec is too long');
  // The version separator is the last "@" that is not the scope's leading one.
  const at = input.lastIndexOf('@');
  if (at <= 0) {
    throw new InvalidSpecError(`"${printable(input)}" names no version: use <name>@<version>, e.g. @acme/core@1.2.3`);
  }
  const name = input.slice(0, at);
  const version = input.slice(at + 1);
  const verdict = validateName(name);
  if (!verdict.validForOldPackages) {
    const why = [...(verdict.errors ?? []), ...(verdict.warnings ?? [])][0] ?? 'invalid name';
    throw new InvalidSpecError(`"${printable(name)}" is not a valid npm package name: ${why}`);
  }
  if (semver.valid(version) !== version) {
    throw new InvalidSpecError(`"${printable(version)}" is not an exact semver version (a range or tag is not a release)`);
  }
  return { name, version };
}

export function formatRelease({ name, version }: ReleaseSpec): string {
  return `${name}@${version}`;
}

/** Shows untrusted text on one line with control characters made visible, for error messages. */
export function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
