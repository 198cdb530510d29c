'use strict';
// Shared jest configuration: every package's jest.config.js is `require('../../jest/preset')(__dirname)`.
// Workspace imports resolve to the packages' TypeScript sources, so tests never run against a stale dist/.
const path = require('node:path');

const repoRoot = path.resolve(__dirname, '..');

module.exports = function preset(packageDir, overrides = {}) {
  return {
    rootDir: packageDir,
    displayName: path.relative(repoRoot, packageDir) || 'root',
    testEnvironment: path.join(__dirname, 'environment.js'),
    transform: {
      '^.+\\.(t|j)sx?$': [
        require.resolve('@swc/jest'),
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
      ],
    },
    testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
    testPathIgnorePatterns: ['/node_modules/', '/dist/'],
    moduleNameMapper: {
      '^@latentkit/native$': path.join(repoRoot, 'native/src/index.ts'),
      '^@latentkit/([a-z0-9-]+)$': path.join(repoRoot, 'packages/$1/src/index.ts'),
    },
    testTimeout: 120000,
    ...overrides,
  };
};
