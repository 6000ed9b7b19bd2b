import type { LocalRegistry } from '../stack/registry';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__quarantineStack as
    | { temporal: { stop(): Promise<void> }; registry: LocalRegistry }
    | undefined;
  if (!stack) return;
  await Promise.all([stack.temporal.stop(), stack.registry.stop()]);
}
