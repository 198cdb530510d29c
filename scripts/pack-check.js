#!/usr/bin/env node
'use strict';
/**
 * Pack-and-install check: every publishable package (packages/* and native/) must install alone
 * from its tarball into an empty project outside the workspace, load with require(), and have
 * declarations that type-check.
 *
 * For each package, in dependency order:
 *   1. build   `pnpm run build` in the package (tsc → dist/)
 *   2. pack    `pnpm pack` (workspace:^ ranges become real versions) into a temp folder
 *   3. install an empty project in the temp folder (outside the workspace) gets `npm install`
 *              of the tarball plus the tarballs of its @latentkit dependencies (dependencies and
 *              required peers, transitively: they are not on the registry) and @types/node
 *   4. require `node -e "require('@latentkit/x')"` in that project, `<bin> --help` for each executable,
 *              and for the CLI `latentkit generate` with the bundled model
 *   5. types   `tsc --noEmit` (strict, node16 resolution, skipLibCheck off) on a file importing it;
 *              errors inside third-party declarations only are shown as `ok*` with a note
 *   6. maps    every `sources` entry of every installed dist/ .map file resolves to a packed file
 *
 * The prebuilt addon (native/platforms/<triple>, @latentkit/native-<triple>): the package of this
 * machine's triple installs with @latentkit/native; the others are packed when their binary has
 * been staged (node native/scripts/prebuild.js <triple>) and listed as skipped otherwise. Then
 * scripts/pack-check-native.js checks, with no compiler on PATH, that the prebuilt addon serves
 * @latentkit/native and @latentkit/pipeline installed from tarballs, that without it the twins
 * serve with exactly one warning, and (unless --no-build-from-source) that `npx latentkit-native-build`
 * builds the addon in a user's project.
 *
 * Prints a table and exits 1 when any step of any package failed.
 *
 *   scripts/pack-check.sh [--keep] [--examples] [--only @latentkit/core,@latentkit/cli] [--no-native] [--no-build-from-source]
 *
 *   --examples  also checks the example plugin packages under examples/ (private, but installable)
 *
 * Environment: ONNXRUNTIME_NODE_INSTALL=skip is set for the installs (no GPU binaries download).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const onlyIndex = args.indexOf('--only');
const withExamples = args.includes('--examples');
const nativeChecks = !args.includes('--no-native');
const buildFromSource = !args.includes('--no-build-from-source');
const { currentTriple } = require('../native/scripts/platform-package');
const hostTriple = currentTriple();
const only = onlyIndex >= 0 ? new Set(String(args[onlyIndex + 1] ?? '').split(',').filter(Boolean)) : undefined;

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** Publishable workspace packages by name. */
function workspacePackages() {
  const dirs = [
    ...fs.readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d)),
    path.join(root, 'native'),
  ].filter((d) => fs.existsSync(path.join(d, 'package.json')));
  // Example plugins are private (never published) but must install alone just the same.
  const examples = withExamples
    ? fs.readdirSync(path.join(root, 'examples')).map((d) => path.join(root, 'examples', d)).filter((d) => fs.existsSync(path.join(d, 'package.json')))
    : [];
  const packages = new Map();
  for (const dir of [...dirs, ...examples]) {
    const manifest = readJson(path.join(dir, 'package.json'));
    if (manifest.private && !examples.includes(dir)) continue;
    packages.set(manifest.name, { name: manifest.name, dir, manifest });
  }
  // Prebuilt platform packages: only those whose binary is staged can be packed (prepack checks it).
  const platformsDir = path.join(root, 'native', 'platforms');
  const skippedPlatforms = [];
  for (const triple of fs.readdirSync(platformsDir).filter((d) => fs.existsSync(path.join(platformsDir, d, 'package.json')))) {
    const dir = path.join(platformsDir, triple);
    const manifest = readJson(path.join(dir, 'package.json'));
    if (fs.existsSync(path.join(dir, 'latentkit_native.node'))) packages.set(manifest.name, { name: manifest.name, dir, manifest, triple });
    else skippedPlatforms.push(manifest.name);
  }
  packages.skippedPlatforms = skippedPlatforms;
  return packages;
}

/** The @latentkit packages a package needs installed: dependencies and non-optional peers. */
function directLatentkitDependencies(manifest) {
  const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
  const names = [
    ...Object.keys(manifest.dependencies ?? {}),
    // Of the prebuilt platform packages, only this machine's installs (npm skips the others by os/cpu/libc).
    ...Object.keys(manifest.optionalDependencies ?? {}).filter((n) => !n.startsWith('@latentkit/native-') || n === `@latentkit/native-${hostTriple}`),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((n) => !optionalPeers.has(n)),
  ];
  return [...new Set(names.filter((n) => n.startsWith('@latentkit/')))];
}

function closure(name, packages, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const pkg = packages.get(name);
  if (pkg) for (const dep of directLatentkitDependencies(pkg.manifest)) closure(dep, packages, seen);
  return seen;
}

/** Dependencies before dependents. */
function topologicalOrder(packages) {
  const order = [];
  const visiting = new Set();
  const done = new Set();
  const visit = (name) => {
    if (done.has(name) || visiting.has(name) || !packages.has(name)) return;
    visiting.add(name);
    for (const dep of directLatentkitDependencies(packages.get(name).manifest)) visit(dep);
    visiting.delete(name);
    done.add(name);
    order.push(name);
  };
  [...packages.keys()].sort().forEach(visit);
  return order;
}

function run(command, argv, options) {
  const started = Date.now();
  const result = spawnSync(command, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, output, seconds: (Date.now() - started) / 1000 };
}

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

function lastLines(text, count = 15) {
  return text.trimEnd().split('\n').slice(-count).map((l) => `      ${l}`).join('\n');
}

function main() {
  const packages = workspacePackages();
  const order = topologicalOrder(packages);
  const foreignPlatforms = order.filter((n) => packages.get(n).triple && packages.get(n).triple !== hostTriple);
  const targets = order.filter((n) => (!only || only.has(n)) && !foreignPlatforms.includes(n));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'latentkit-pack-check-'));
  const tarballDir = path.join(work, 'tarballs');
  fs.mkdirSync(tarballDir);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  console.log(`pack-check: ${targets.length} packages, working in ${work}`);

  // 1–2. Build and pack every package the targets need (dependencies first).
  const needed = order.filter((n) => targets.some((t) => closure(t, packages).has(n)) || (!only && foreignPlatforms.includes(n)));
  const built = new Map();
  const tarballs = new Map();
  for (const name of needed) {
    const { dir } = packages.get(name);
    process.stdout.write(`  build+pack ${name} … `);
    const build = packages.get(name).manifest.scripts?.build ? run('pnpm', ['run', 'build'], { cwd: dir, env }) : { ok: true, output: '(no build script)', seconds: 0 };
    built.set(name, build);
    const before = new Set(fs.readdirSync(tarballDir));
    const pack = run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: dir, env });
    const created = fs.readdirSync(tarballDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (pack.ok && created.length === 1) tarballs.set(name, { file: path.join(tarballDir, created[0]), ...pack });
    else tarballs.set(name, { file: undefined, ...pack, ok: false });
    console.log(`${build.ok ? 'built' : 'BUILD FAILED'}, ${tarballs.get(name).ok ? `packed ${path.basename(tarballs.get(name).file)} (${(fs.statSync(tarballs.get(name).file).size / 1024).toFixed(0)} KiB)` : 'PACK FAILED'}`);
  }

  // 3–5. One empty project per package, outside the workspace.
  const rows = [];
  const failures = [];
  const notes = [];
  for (const name of targets) {
    const row = { name, build: built.get(name).ok, pack: tarballs.get(name).ok, install: false, require: false, types: false, seconds: 0 };
    rows.push(row);
    const fail = (step, output) => failures.push({ name, step, output });
    if (!row.build) fail('build', built.get(name).output);
    if (!row.pack) {
      fail('pack', tarballs.get(name).output);
      continue;
    }
    const deps = [...closure(name, packages)];
    const missing = deps.filter((d) => !tarballs.get(d)?.ok);
    if (missing.length) {
      fail('install', `cannot install: the tarballs of ${missing.join(', ')} are missing`);
      continue;
    }
    const project = path.join(work, 'projects', name.replace('/', '__'));
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'pack-check-consumer', version: '0.0.0', private: true }, null, 2));
    process.stdout.write(`  install ${name} (+ ${deps.length - 1} @latentkit tarballs) … `);
    const install = run('npm', ['install', '--no-package-lock', '--loglevel=error', ...deps.map((d) => tarballs.get(d).file), '@types/node@^20'], { cwd: project, env });
    row.install = install.ok;
    row.seconds += install.seconds;
    console.log(install.ok ? `ok (${install.seconds.toFixed(0)} s)` : 'FAILED');
    if (!install.ok) {
      fail('install', install.output);
      continue;
    }
    const load = run(process.execPath, ['-e', `const m = require(${JSON.stringify(name)}); if (typeof m !== 'object' || m === null) throw new Error('no exports'); console.log(Object.keys(m).length + ' exports')`], { cwd: project, env });
    row.require = load.ok;
    row.exports = load.ok ? load.output.trim() : '';
    if (!load.ok) fail('require', load.output);

    // Executables: npm links them into node_modules/.bin; each must start and print its help.
    const bins = Object.keys(typeof packages.get(name).manifest.bin === 'string' ? { [name.split('/').pop()]: 1 } : packages.get(name).manifest.bin ?? {});
    for (const bin of bins) {
      const started = run(path.join(project, 'node_modules', '.bin', bin), ['--help'], { cwd: project, env });
      if (!started.ok) {
        row.require = false;
        fail(`bin ${bin} --help`, started.output);
      } else row.exports += `, bin ${bin}`;
    }

    // The CLI, installed from tarballs only, must generate with the bundled model.
    if (name === '@latentkit/cli' && row.require) {
      const smoke = run(path.join(project, 'node_modules', '.bin', 'latentkit'), ['generate', 'a red circle on a blue background', '--steps', '2', '--seed', '1', '--out', 'smoke.png', '--quiet'], { cwd: project, env });
      if (smoke.ok && fs.existsSync(path.join(project, 'smoke.png'))) row.exports += ' (generate ok)';
      else {
        row.require = false;
        fail('latentkit generate', smoke.output);
      }
    }

    // A platform package is a binary (its main is the .node file): no declarations, no maps.
    if (packages.get(name).triple) {
      row.types = row.require;
      row.maps = 'n/a';
      continue;
    }
    fs.writeFileSync(path.join(project, 'check.ts'), `import * as m from ${JSON.stringify(name)};\nconst names: string[] = Object.keys(m);\nexport default names;\n`);
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'] }, files: ['check.ts'] }, null, 2),
    );
    const types = run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env });
    // With skipLibCheck off, tsc also reports errors inside third-party declarations. Those are
    // noted, not failed: what must hold is that latentkit's own declarations and the import resolve.
    const errors = types.output.split('\n').filter((l) => /error TS\d+/.test(l));
    const foreign = errors.filter((l) => /^node_modules\//.test(l) && !/^node_modules\/@latentkit\//.test(l));
    row.types = types.ok || (errors.length > 0 && foreign.length === errors.length);
    if (!row.types) fail('types', types.output);

    // Source maps: every `sources` entry of every packed map must resolve inside the installed package.
    const installed = path.join(project, 'node_modules', ...name.split('/'));
    const maps = listFiles(path.join(installed, 'dist')).filter((f) => f.endsWith('.map'));
    const dangling = maps.flatMap((map) => (readJson(map).sources ?? []).map((s) => path.resolve(path.dirname(map), s)).filter((s) => !fs.existsSync(s)));
    row.maps = `${maps.length} maps${dangling.length ? `, ${dangling.length} dangling` : ''}`;
    if (dangling.length) {
      row.types = false;
      fail('source maps', `sources not packed:\n${dangling.slice(0, 5).join('\n')}`);
    }
    else if (!types.ok) {
      row.typesNote = true;
      const packagesWithErrors = [...new Set(foreign.map((l) => l.match(/^node_modules\/((?:@[^/]+\/)?[^/]+)/)[1]))];
      notes.push(`${name}: its declarations check; ${foreign.length} error(s) inside third-party declarations of ${packagesWithErrors.join(', ')} (visible only with skipLibCheck off), e.g.\n${lastLines(foreign.join('\n'), 2)}`);
    }
  }

  const mark = (ok) => (ok ? 'ok' : 'FAIL');
  const header = ['package', 'build', 'pack', 'install', 'require', 'types', 'maps', 'exports'];
  const table = rows.map((r) => [r.name, mark(r.build), mark(r.pack), mark(r.install), mark(r.require), r.types && r.typesNote ? 'ok*' : mark(r.types), r.maps ?? '', r.exports ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log('');
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of table) console.log(line(r));
  for (const note of notes) console.log(`\n* ${note}`);
  for (const f of failures) console.log(`\n${f.name}: ${f.step} failed:\n${lastLines(f.output)}`);
  for (const name of foreignPlatforms.filter((n) => tarballs.has(n))) console.log(`\n${name}: packed only (${tarballs.get(name).ok ? path.basename(tarballs.get(name).file) : 'PACK FAILED'}): it installs on ${packages.get(name).triple} only`);
  if (packages.skippedPlatforms.length) console.log(`\nnot packed (no staged binary; built on their own CI runners): ${packages.skippedPlatforms.join(', ')}`);

  let nativeBad = 0;
  if (nativeChecks && (!only || only.has('@latentkit/native') || only.has('@latentkit/pipeline'))) {
    const tarballFiles = new Map([...tarballs].filter(([, t]) => t.ok).map(([n, t]) => [n, t.file]));
    const closures = (n) => [...closure(n, packages)];
    nativeBad = require('./pack-check-native').run({ work, tarballs: tarballFiles, closure: closures, env, hostTriple, buildFromSource, lastLines });
  }
  if (keep) console.log(`\nkept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
  const bad = rows.filter((r) => !(r.build && r.pack && r.install && r.require && r.types)).length;
  console.log(`\npack-check: ${rows.length - bad} of ${rows.length} packages pack, install alone, load and type-check${bad ? `; ${bad} failed` : ''}`);
  if (nativeBad) console.log(`pack-check: ${nativeBad} native addon check(s) failed`);
  process.exitCode = bad || nativeBad ? 1 : 0;
}

main();
