// A package's publishing 2FA setting, as `npm access set mfa=publish` writes it (libnpmaccess setMfa).
import npmFetch from 'npm-registry-fetch';
import { z } from 'zod';
import { escapedName, parseAnswer, registryCall, type NpmClientOptions } from './options';

const settingsSchema = z.looseObject({
  publish_requires_tfa: z.boolean(),
  automation_token_overrides_tfa: z.boolean().optional(),
});

export interface PublishAccessSettings {
  publishRequires2fa: boolean;
  /** Whether automation (bypass-2FA) tokens may still publish. */
  automationTokenOverrides2fa: boolean;
}

/**
 * The stored setting. npm 11.19 has no command that reads it (`npm access get status` reads
 * visibility only): this reads `GET /-/package/<name>/access`, which the test stack's stand-in answers.
 */
export async function readAccessSettings(name: string, opts: NpmClientOptions): Promise<PublishAccessSettings> {
  const path = `/-/package/${escapedName(name)}/access`;
  const action = `read 2FA settings of ${name}`;
  const settings = parseAnswer(settingsSchema, await registryCall(opts, action, (options) => npmFetch.json(path, options)), action);
  return { publishRequires2fa: settings.publish_requires_tfa, automationTokenOverrides2fa: settings.automation_token_overrides_tfa ?? false };
}

/** Requires 2FA for every publish, automation tokens included (`mfa=publish`); written only if it differs. */
export async function requirePublish2fa(name: string, opts: NpmClientOptions): Promise<{ changed: boolean; before: PublishAccessSettings }> {
  const before = await readAccessSettings(name, opts);
  if (before.publishRequires2fa && !before.automationTokenOverrides2fa) return { changed: false, before };
  const path = `/-/package/${escapedName(name)}/access`;
  await registryCall(opts, `require 2FA to publish ${name}`, (options) =>
    npmFetch(path, { ...options, method: 'POST', body: { publish_requires_tfa: true, automation_token_overrides_tfa: false }, ignoreBody: true }),
  );
  return { changed: true, before };
}

/** Puts a package's publishing 2FA settings back as they were (the undo of requirePublish2fa); written only if they differ. */
export async function setPublishAccess(name: string, settings: PublishAccessSettings, opts: NpmClientOptions): Promise<{ changed: boolean; before: PublishAccessSettings }> {
  const before = await readAccessSettings(name, opts);
  if (before.publishRequires2fa === settings.publishRequires2fa && before.automationTokenOverrides2fa === settings.automationTokenOverrides2fa) return { changed: false, before };
  const path = `/-/package/${escapedName(name)}/access`;
  await registryCall(opts, `restore the 2FA settings of ${name}`, (options) =>
    npmFetch(path, { ...options, method: 'POST', body: { publish_requires_tfa: settings.publishRequires2fa, automation_token_overrides_tfa: settings.automationTokenOverrides2fa }, ignoreBody: true }),
  );
  return { changed: true, before };
}
