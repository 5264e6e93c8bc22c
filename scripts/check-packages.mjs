#!/usr/bin/env node
/**
 * What `npm publish` would ship, checked before it ships: publint and @arethetypeswrong/cli on every published
 * package (their packed tarballs), and `changeset version` run in a copy of the manifests and changesets, which must
 * bump every published package and leave the repository untouched. Needs the packages built (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
// npm variables of the `npm run` around this script would point the tools' own `npm pack` at the repository root.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

const published = readdirSync(join(root, 'packages'))
  .map((name) => join(root, 'packages', name))
  .filter((dir) => existsSync(join(dir, 'package.json')) && !readJson(join(dir, 'package.json')).private);

const failures = [];
function run(label, command, args, cwd = root) {
  console.log(`\n▶ ${label}`);
  const result = spawnSync(command, args, { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) failures.push(label);
}

for (const dir of published) {
  const { name } = readJson(join(dir, 'package.json'));
  if (!existsSync(join(dir, 'dist', 'index.js'))) {
    failures.push(`${name}: not built (run npm run build)`);
    continue;
  }
  run(`publint ${name}`, bin('publint'), ['--strict', dir]);
  run(`attw ${name}`, bin('attw'), ['--pack', dir, '--format', 'table-flipped']);
}

// `changeset version` in a copy: every changeset must name real packages, and every published package gets a bump.
const copy = mkdtempSync(join(tmpdir(), 'switchyard-changeset-'));
try {
  for (const path of ['package.json', 'package-lock.json', '.changeset']) cpSync(join(root, path), join(copy, path), { recursive: true });
  for (const group of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, group))) {
      const manifest = join(root, group, name, 'package.json');
      if (existsSync(manifest)) cpSync(manifest, join(copy, group, name, 'package.json'));
    }
  }
  const pending = readdirSync(join(copy, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
  console.log(`\n▶ changeset version (dry run, ${pending.length} changesets)`);
  const result = spawnSync(process.execPath, [join(root, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], { cwd: copy, env, encoding: 'utf8' });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  if (result.status !== 0 || /\b(warn|error)\b/i.test(result.stderr)) failures.push('changeset version');
  for (const dir of published) {
    const before = readJson(join(dir, 'package.json'));
    const relative = dir.slice(root.length + 1);
    const after = readJson(join(copy, relative, 'package.json'));
    const changelog = existsSync(join(copy, relative, 'CHANGELOG.md'));
    console.log(`  ${before.name}: ${before.version} → ${after.version}${changelog ? ', CHANGELOG.md written' : ''}`);
    if (pending.length > 0 && (after.version === before.version || !changelog)) failures.push(`changeset version: ${before.name} not bumped`);
  }
  const left = readdirSync(join(copy, '.changeset')).filter((file) => file.endsWith('.md') && file !== 'README.md');
  if (left.length > 0) failures.push(`changeset version left ${left.join(', ')}`);
} finally {
  rmSync(copy, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\n✗ ${failures.length} check(s) failed:\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`\n✓ ${published.length} packages: publint and attw clean; changeset version runs clean`);
