/**
 * Packaging checks any workspace package can reuse: the built ESM and CJS entries load under plain Node
 * (without the `@switchyard/source` condition), from the workspace and from the `npm pack` tarball.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const execFileAsync = promisify(execFile);

/** The monorepo root: its `node_modules` holds the workspace links and the dependencies. */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export interface PackageJson {
  name: string;
  files?: string[];
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export function readPackageJson(dir: string): PackageJson {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/** An environment for child processes without anything that could turn the source condition on. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

/**
 * Runs `code` in a fresh `node` with `cwd` as the place packages are resolved from, and parses the JSON it
 * prints last. `module` picks `--input-type=module` (ESM) or the default (CommonJS).
 */
export async function runNode(cwd: string, code: string, module: 'esm' | 'cjs'): Promise<unknown> {
  const args = module === 'esm' ? ['--input-type=module', '-e', code] : ['-e', code];
  try {
    const { stdout } = await execFileAsync(process.execPath, args, { cwd, env: childEnv(), timeout: 15_000 });
    const lines = stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1] ?? 'null');
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`node (${module}) failed in ${cwd}:\n${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
}

/** The files a build must produce: ESM and CJS entries and their declarations. */
export const DIST_FILES = ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts'];

function assertBuilt(dir: string, name: string): void {
  const missing = DIST_FILES.filter((file) => !existsSync(join(dir, file)));
  if (missing.length > 0) {
    throw new Error(`${name}: ${missing.join(', ')} missing in ${dir}; run npm run build first (npm test builds before it runs vitest)`);
  }
}

/**
 * A script that loads `name` (with `require` or `import`), runs `smoke` with the module bound to `m`, and
 * prints `{ resolved, exports, smoke }` as JSON.
 */
function loaderScript(name: string, module: 'esm' | 'cjs', smoke: string): string {
  const body = `const exports = Object.keys(m).filter((key) => key !== 'default' && key !== 'module.exports').sort();
const smoke = await (async (m) => { ${smoke} })(m);
console.log(JSON.stringify({ resolved, exports, smoke }));`;
  if (module === 'cjs') {
    return `const m = require(${JSON.stringify(name)}); const resolved = require.resolve(${JSON.stringify(name)});
(async () => { ${body} })().catch((error) => { console.error(error); process.exit(1); });`;
  }
  return `import * as m from ${JSON.stringify(name)};
import { fileURLToPath } from 'node:url';
const resolved = fileURLToPath(import.meta.resolve(${JSON.stringify(name)}));
${body}`;
}

interface LoadResult {
  resolved: string;
  exports: string[];
  smoke: unknown;
}

export interface PackagingOptions {
  /** The package directory (holds `package.json` and `dist`). */
  dir: string;
  /** Names both builds must export. */
  exports: readonly string[];
  /** JavaScript run against the loaded module `m` in both builds (may `await`); what it returns must be JSON. */
  smoke?: string;
  /** Assertions on what `smoke` returned, run for each build. */
  checkSmoke?: (value: unknown, build: string) => void;
  /** Packages a TypeScript user installs beside this one (`@types/express`), linked into the tarball install. */
  typePackages?: readonly string[];
  /** Extra `tsc` flags for the consumer check (`--skipLibCheck` where a dependency's own types do not compile). */
  tscFlags?: readonly string[];
  /** What a user writes with the package, compiled by the consumer check: ESM (`.mts`) and CommonJS (`.cts`) source. */
  typeUsage?: { esm: string; cjs: string };
}

/** An installed copy of a packed tarball, as a user's `node_modules` would hold it. */
export interface PackedInstall {
  /** The directory to resolve from: it holds `node_modules/<name>`. */
  root: string;
  /** Where the package was extracted. */
  dir: string;
  /** Paths in the tarball, as `npm pack --json` lists them. */
  files: string[];
}

/**
 * Packs `dir` with `npm pack`, extracts it into `<tmp>/node_modules/<name>`, and links its dependencies from
 * the repository's `node_modules`, so `<tmp>` resolves the package the way an app that installed it would. `omit`
 * leaves out dependencies an app may not have (optional peers).
 */
export async function installPacked(dir: string, tmp: string, extra: readonly string[] = [], omit: readonly string[] = []): Promise<PackedInstall> {
  const { name } = readPackageJson(dir);
  const { stdout } = await execFileAsync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: dir, env: childEnv(), timeout: 60_000 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  if (!packed) throw new Error(`npm pack printed nothing for ${name}`);
  const target = join(tmp, 'node_modules', name);
  mkdirSync(target, { recursive: true });
  // npm puts every file under `package/` in the tarball.
  await execFileAsync('tar', ['-xzf', join(tmp, packed.filename), '-C', target, '--strip-components=1']);
  const installed = readPackageJson(target);
  for (const dependency of new Set([...Object.keys({ ...installed.dependencies, ...installed.peerDependencies }), ...extra])) {
    if (omit.includes(dependency)) continue;
    const source = join(REPO_ROOT, 'node_modules', dependency);
    if (!existsSync(source)) throw new Error(`${name} depends on ${dependency}, which is not in ${join(REPO_ROOT, 'node_modules')}`);
    const link = join(tmp, 'node_modules', dependency);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(source, link, 'dir');
  }
  return { root: tmp, dir: target, files: packed.files.map((file) => file.path) };
}

/**
 * Declares the packaging suite of one package: built files, CJS and ESM from the workspace, and the same from
 * the packed tarball, whose contents are checked too.
 */
export function describePackaging(options: PackagingOptions): void {
  const { dir } = options;
  const { name } = readPackageJson(dir);
  const smoke = options.smoke ?? 'return null;';

  function checkLoad(result: LoadResult, build: string, expectedDir: string): void {
    expect(realpathSync(result.resolved), `${build} resolved`).toBe(realpathSync(join(expectedDir, build.endsWith('cjs') ? 'dist/index.cjs' : 'dist/index.js')));
    for (const key of options.exports) expect(result.exports, `${build} exports ${key}`).toContain(key);
    options.checkSmoke?.(result.smoke, build);
  }

  describe(`${name} packaging`, () => {
    beforeAll(() => assertBuilt(dir, name));

    it.for(DIST_FILES)('builds %s', (file) => {
      expect(existsSync(join(dir, file)), `${file}: run npm run build first`).toBe(true);
    });

    it.for(['cjs', 'esm'] as const)('loads the %s build from the workspace without the source condition', async (module) => {
      const result = (await runNode(REPO_ROOT, loaderScript(name, module, smoke), module)) as LoadResult;
      checkLoad(result, `workspace ${module}`, dir);
    });

    it('exports the same names from both builds', async () => {
      const [cjs, esm] = (await Promise.all([runNode(REPO_ROOT, loaderScript(name, 'cjs', smoke), 'cjs'), runNode(REPO_ROOT, loaderScript(name, 'esm', smoke), 'esm')])) as LoadResult[];
      expect(cjs?.exports).toEqual(esm?.exports);
    });

    describe('from the packed tarball', () => {
      let tmp = '';
      let installed: PackedInstall;

      beforeAll(async () => {
        assertBuilt(dir, name);
        tmp = realpathSync(mkdtempSync(join(tmpdir(), 'switchyard-pack-')));
        installed = await installPacked(dir, tmp, options.typePackages);
      }, 60_000);

      afterAll(() => {
        if (tmp) rmSync(tmp, { recursive: true, force: true });
      });

      it('holds dist and package.json, and no sources or tests', () => {
        expect(installed.files).toContain('package.json');
        for (const file of DIST_FILES) expect(installed.files).toContain(file);
        const listed = readPackageJson(dir).files ?? [];
        // npm always adds package.json, README, LICENSE and CHANGELOG; everything else must be listed in "files".
        const alwaysIncluded = /^(package\.json|(README|LICEN[CS]E|CHANGELOG)(\.[^/]*)?)$/i;
        const stray = installed.files.filter((file) => !alwaysIncluded.test(file) && !listed.some((entry) => file === entry || file.startsWith(`${entry}/`)));
        expect(stray, 'files outside package.json "files"').toEqual([]);
        expect(installed.files.filter((file) => file.startsWith('src/') || file.startsWith('test/') || /\.test(-d)?\.[cm]?[jt]s$/.test(file))).toEqual([]);
        expect(existsSync(join(installed.dir, 'src'))).toBe(false);
      });

      it.for(['cjs', 'esm'] as const)('loads the %s build as an installed package', async (module) => {
        const result = (await runNode(installed.root, loaderScript(name, module, smoke), module)) as LoadResult;
        checkLoad(result, `tarball ${module}`, installed.dir);
      });

      // One program per module kind, as a user compiles one or the other: declaration merging (`req.llm`) from
      // both builds in one program would collide, which no real app does.
      it.for(['esm', 'cjs'] as const)('has declarations TypeScript finds through exports, for %s', { timeout: 60_000 }, async (kind) => {
        const consumer = join(installed.root, 'consumer');
        mkdirSync(consumer, { recursive: true });
        const names = options.exports.join(', ');
        const file = kind === 'esm' ? 'consumer/esm.mts' : 'consumer/cjs.cts';
        const source =
          kind === 'esm'
            ? `import { ${names} } from ${JSON.stringify(name)};\nexport const all = [${names}];\n`
            : `import pkg = require(${JSON.stringify(name)});\nexport const all = [${options.exports.map((key) => `pkg.${key}`).join(', ')}];\n`;
        writeFileSync(join(installed.root, file), `${source}${options.typeUsage?.[kind] ?? ''}`);
        // @types/node beside the app rather than a typeRoots into the repository, whose @types would also answer the
        // type references of the app's own @types packages.
        const nodeTypes = join(installed.root, 'node_modules', '@types', 'node');
        if (!existsSync(nodeTypes)) {
          mkdirSync(dirname(nodeTypes), { recursive: true });
          symlinkSync(join(REPO_ROOT, 'node_modules', '@types', 'node'), nodeTypes, 'dir');
        }
        const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
        const args = [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', ...(options.tscFlags ?? []), file];
        try {
          await execFileAsync(process.execPath, args, { cwd: installed.root, env: childEnv(), timeout: 60_000 });
        } catch (error) {
          const { stdout, stderr } = error as { stdout?: string; stderr?: string };
          throw new Error(`tsc could not type the installed ${name} (${kind}):\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
        }
      });
    });
  });
}
