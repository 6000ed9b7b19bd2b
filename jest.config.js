// Integration tests share one Temporal dev server and one seeded registry template (test/global-setup.ts);
// each file that writes gets its own registry copy. Two cores: two jest workers at most.
const ESM_ONLY = '(@octokit|universal-user-agent|universal-github-app-jwt|before-after-hook|toad-cache|json-with-bigint)';
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // Fixture projects carry package.json files of their own: not modules of this project.
  modulePathIgnorePatterns: ['<rootDir>/test/fixtures/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }],
    // octokit and its helpers ship ES modules only: Node loads them with require, jest's loader does not.
    [`/node_modules/${ESM_ONLY}/.+\\.js$`]: ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!${ESM_ONLY}/)`],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
