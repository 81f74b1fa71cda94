/**
 * One run for unit specs (beside the code) and the e2e suites (test/), against a
 * real PostgreSQL: the embedded one by default, DATABASE_URL's server when set.
 * Suites run in band: they share one database, and the migrations suite takes
 * the schema down and up again.
 */
const { compilerOptions } = require('./tsconfig.json');

// SWC rewrites the @clincore/* aliases at compile time, so global set-up (which
// moduleNameMapper does not reach) resolves them too.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
      keepClassNames: true,
      baseUrl: __dirname,
      paths: compilerOptions.paths,
    },
    module: { type: 'commonjs' },
  },
];

const ignored = ['/node_modules/', '/dist/'];
if (!process.env.TEST_ADMIN_DATABASE_URL && process.env.DATABASE_URL) {
  // db:provision needs a superuser; with only the app and owner URLs it cannot be exercised.
  ignored.push('/test/provision.e2e-spec.ts');
}

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  testRegex: ['\\.spec\\.ts$', '\\.e2e-spec\\.ts$'],
  testPathIgnorePatterns: ignored,
  transform: { '^.+\\.ts$': swc, '^.+\\.m?js$': '<rootDir>/test/support/esm-transformer.js' },
  // Everything reaches the transformer; it compiles only ES-module files.
  transformIgnorePatterns: [],
  moduleFileExtensions: ['ts', 'js', 'json'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30_000,
};
