import type { LocalRegistry } from '../stack/registry';
import type { TemporalDevServer } from '../stack/temporal-server';

export default async function globalTeardown(): Promise<void> {
  const stack = (globalThis as Record<string, unknown>).__quarantineStack as
    | { temporal: TemporalDevServer; registry: LocalRegistry }
    | undefined;
  if (!stack) return;
  await Promise.all([stack.temporal.stop(), stack.registry.stop()]);
}
