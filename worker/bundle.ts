// Prebuilds the workflow bundle at build time, so that a worker (re)starts in about a second instead
// of running webpack on every start.
import { bundleWorkflowCode } from '@temporalio/worker';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder of this package's package.json, whether running compiled from dist/ or from source. */
export function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

/** One place, whether this module runs compiled from dist/ or from source under jest. */
export const WORKFLOW_BUNDLE_PATH = join(packageRoot(__dirname), 'dist', 'workflow-bundle.js');

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
