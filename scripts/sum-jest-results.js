#!/usr/bin/env node
'use strict';
// Adds up every package's jest JSON result (written by `jest --json --outputFile=.jest-results.json`)
// and prints the one line CI reads: `N passed, N failed, N skipped`. Exits 1 when any test failed,
// any suite failed to run, or no result was found at all.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const found = [];
function walk(dir, depth) {
  if (depth > 3) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'node_modules' || entry.name === '.git') continue;
    const full = path.join(dir, entry.name);
    const result = path.join(full, '.jest-results.json');
    if (fs.existsSync(result)) found.push(result);
    walk(full, depth + 1);
  }
}
walk(root, 0);

let passed = 0, failed = 0, skipped = 0, brokenSuites = 0;
for (const file of found) {
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += json.numPassedTests;
  failed += json.numFailedTests;
  skipped += json.numPendingTests + (json.numTodoTests || 0);
  brokenSuites += json.numRuntimeErrorTestSuites || 0;
  const name = path.relative(root, path.dirname(file));
  console.log(`${name}: ${json.numPassedTests} passed, ${json.numFailedTests} failed, ${json.numPendingTests} skipped`);
}
if (brokenSuites > 0) console.log(`${brokenSuites} test suite(s) failed to run`);
console.log(`${passed} passed, ${failed + brokenSuites} failed, ${skipped} skipped`);
process.exit(found.length === 0 || failed > 0 || brokenSuites > 0 ? 1 : 0);
