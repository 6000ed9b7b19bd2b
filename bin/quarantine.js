#!/usr/bin/env node
'use strict';
// The package's `bin`: runs the compiled CLI (`npm run build`; `npm start` and `npm test` build first).
// No `prepare` builds it on install: `npx quarantine` installs this checkout as a package, and the
// install-script policy (rightly) refuses an unreviewed `prepare`.
// Node 22+ caches compiled code between runs: the Temporal client is a large module graph to load.
require('node:module').enableCompileCache?.();
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write('quarantine: not built yet; run `npm run build` in the checkout\n');
  process.exit(2);
}
const output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};
// A promise nobody awaited (a call the command stopped waiting for) must not end the process with a
// raw dump of a gRPC error: one line, exit status 1.
process.on('unhandledRejection', (err) => {
  output.err(`quarantine: ${err instanceof Error ? err.message : String(err)}`.split('\n')[0]);
  process.exit(1);
});
require(main)
  .main(process.argv.slice(2), output)
  .then(
    (code) => {
      // Exit explicitly: a command that stopped waiting (--wait) leaves the client's update call
      // retrying in the background, and that must not keep the process alive.
      process.stdout.write('', () => process.exit(code));
    },
    (err) => {
      output.err(`quarantine: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
