import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import pluginGenerator from './generator.js';

const run = promisify(execFile);
const WORKSPACE = fileURLToPath(new URL('../../../../', import.meta.url));
const bin = (path: string) => join(WORKSPACE, 'node_modules', path);

/**
 * What the generator reads and edits, and what linting the result needs, copied from the workspace
 * into a temporary one (node_modules linked): the generator runs there through the real `nx g`
 * command, so the documented command is what is tested, and the workspace itself is not touched.
 */
const COPIED = [
  'package.json',
  'nx.json',
  'tsconfig.base.json',
  'eslint.config.mjs',
  'tools/generators',
  'apps/cli/package.json',
  'apps/cli/project.json',
  'apps/cli/src/plugins.ts',
  // The projects the generated code imports, for their tags (module boundaries) and versions.
  'packages/core/package.json',
  'packages/core/project.json',
  'packages/testing/package.json',
  'packages/testing/project.json',
];

let root: string;

async function inWorkspace(command: string, args: string[], timeoutMs = 120_000): Promise<string> {
  try {
    const { stdout, stderr } = await run(process.execPath, [command, ...args], {
      cwd: root,
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_SKIP_NX_CACHE: 'true' },
      timeout: timeoutMs,
      maxBuffer: 16 << 20,
    });
    return stdout + stderr;
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`, { cause: err });
  }
}

const read = (path: string) => readFile(join(root, path), 'utf8');

describe('nx g @ferry/generators:plugin', () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'ferry-generator-'));
    for (const path of COPIED) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await cp(join(WORKSPACE, path), join(root, path), { recursive: true, filter: (src) => !src.endsWith('.test.ts') });
    }
    await symlink(join(WORKSPACE, 'node_modules'), join(root, 'node_modules'));
    for (const [kind, name] of [
      ['store', 'memo'],
      ['format', 'tsv'],
    ]) {
      await inWorkspace(bin('nx/dist/bin/nx.js'), ['g', '@ferry/generators:plugin', `--kind=${kind}`, `--name=${name}`, '--skipInstall', '--no-interactive']);
    }
  }, 240_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('scaffolds packages/<kind>-<name> shaped like the built-in plugin packages', async () => {
    const pkg = JSON.parse(await read('packages/format-tsv/package.json')) as Record<string, unknown>;
    const core = JSON.parse(await read('packages/core/package.json')) as { version: string; dependencies: Record<string, string> };
    expect(pkg).toMatchObject({
      name: '@ferry/format-tsv',
      type: 'module',
      exports: { '.': { '@ferry/source': './src/index.ts', types: './dist/index.d.ts', default: './dist/index.js' } },
      scripts: { prepack: 'nx run format-tsv:build' },
      dependencies: { '@ferry/core': `^${core.version}`, zod: core.dependencies.zod, 'apache-arrow': core.dependencies['apache-arrow'] },
      devDependencies: { '@ferry/testing': `^${core.version}` },
    });
    const project = JSON.parse(await read('packages/store-memo/project.json')) as { name: string; tags: string[]; targets: Record<string, unknown> };
    expect(project.name).toBe('store-memo');
    expect(project.tags).toEqual(['type:plugin', 'kind:store']);
    expect(Object.keys(project.targets)).toEqual(['build', 'test', 'lint']);
    expect(await read('packages/store-memo/src/index.ts')).toBe("export * from './memo-store.js';\n");
    expect(await read('packages/store-memo/README.md')).toContain('"store": { "use": "memo"');
    expect(await read('packages/format-tsv/src/tsv-format.conformance.test.ts')).toContain("from '@ferry/testing/format'");
  });

  it('registers each plugin as a lazy entry of the CLI and as a CLI dependency', async () => {
    const plugins = await read('apps/cli/src/plugins.ts');
    expect(plugins).toContain("  { kind: 'store', name: 'memo', load: () => import('@ferry/store-memo').then((m) => m.memoStore) },\n");
    expect(plugins).toContain("  { kind: 'format', name: 'tsv', load: () => import('@ferry/format-tsv').then((m) => m.tsvFormat) },\n];");
    const cli = JSON.parse(await read('apps/cli/package.json')) as { dependencies: Record<string, string> };
    expect(cli.dependencies['@ferry/store-memo']).toBe(cli.dependencies['@ferry/core']);
    expect(Object.keys(cli.dependencies)).toEqual(Object.keys(cli.dependencies).sort());
  });

  it('refuses a name that is taken, leaving the workspace as it was', { timeout: 120_000 }, async () => {
    const before = await read('apps/cli/src/plugins.ts');
    await expect(inWorkspace(bin('nx/dist/bin/nx.js'), ['g', '@ferry/generators:plugin', '--kind=format', '--name=tsv', '--skipInstall', '--no-interactive'])).rejects.toThrow(
      'packages/format-tsv already exists',
    );
    expect(await read('apps/cli/src/plugins.ts')).toBe(before);
  });

  it('generates code that passes lint (module boundaries included) and the TypeScript check', { timeout: 180_000 }, async () => {
    // The lint rule reads Nx's project graph, which must include the new projects.
    await inWorkspace(bin('nx/dist/bin/nx.js'), ['show', 'projects']);
    // Both exit non-zero on any finding (which fails here with their output); clean runs print nothing.
    const lint = await inWorkspace(bin('eslint/bin/eslint.js'), ['--max-warnings=0', 'packages/store-memo', 'packages/format-tsv', 'apps/cli/src/plugins.ts']);
    expect(lint.trim()).toBe('');
    await writeFile(join(root, 'tsconfig.generated.json'), JSON.stringify({ extends: './tsconfig.base.json', include: ['packages/store-memo/src/**/*.ts', 'packages/format-tsv/src/**/*.ts'] }));
    expect((await inWorkspace(bin('typescript/bin/tsc'), ['-p', 'tsconfig.generated.json', '--noEmit'])).trim()).toBe('');
  });

  it("passes its kind's conformance suite as generated", { timeout: 240_000 }, async () => {
    await writeFile(
      join(root, 'vitest.config.mjs'),
      `export default { ssr: { resolve: { conditions: ['@ferry/source', 'node'] } }, test: { include: ['packages/*/src/**/*.test.ts'], pool: 'forks', maxWorkers: 2, testTimeout: 60000 } };\n`,
    );
    await inWorkspace(bin('vitest/vitest.mjs'), ['run', '--config', 'vitest.config.mjs', '--reporter=json', '--outputFile=vitest-report.json'], 180_000);
    const report = JSON.parse(await read('vitest-report.json')) as {
      numFailedTests: number;
      testResults: Array<{ name: string; assertionResults: Array<{ status: string }> }>;
    };
    expect(report.numFailedTests).toBe(0);
    const passed = Object.fromEntries(report.testResults.map((r) => [r.name.slice(root.length + 1), r.assertionResults.filter((a) => a.status === 'passed').length]));
    expect(Object.keys(passed).sort()).toEqual(['packages/format-tsv/src/tsv-format.conformance.test.ts', 'packages/store-memo/src/memo-store.conformance.test.ts']);
    // Every shared case of each suite ran (the store's signed-URL case is skipped: it declares none).
    expect(passed['packages/format-tsv/src/tsv-format.conformance.test.ts']).toBeGreaterThanOrEqual(8);
    expect(passed['packages/store-memo/src/memo-store.conformance.test.ts']).toBeGreaterThanOrEqual(18);
  });
});

describe('the plugin generator on an in-memory tree', () => {
  it('spells names with a dash and descriptions with quotes as valid code and JSON', async () => {
    const tree = createTreeWithEmptyWorkspace();
    for (const path of ['packages/core/package.json', 'apps/cli/package.json', 'apps/cli/src/plugins.ts']) {
      tree.write(path, await readFile(join(WORKSPACE, path), 'utf8'));
    }
    await pluginGenerator(tree, { kind: 'format', name: 'row-count', description: `Counts rows; it's "simple" \\ honest`, skipInstall: true });
    const source = tree.read('packages/format-row-count/src/row-count-format.ts', 'utf8')!;
    expect(source).toContain('export const rowCountFormat = definePlugin({');
    expect(source).toContain('export class RowCountWriter implements FormatWriter {');
    expect(source).toContain(`description: 'Counts rows; it\\'s "simple" \\\\ honest',`);
    expect(JSON.parse(tree.read('packages/format-row-count/package.json', 'utf8')!).description).toBe(`Counts rows; it's "simple" \\ honest`);
    expect(tree.read('apps/cli/src/plugins.ts', 'utf8')).toContain("import('@ferry/format-row-count').then((m) => m.rowCountFormat)");
    await expect(pluginGenerator(tree, { kind: 'sink' as 'store', name: 'kafka' })).rejects.toThrow('--kind must be one of store, format');
    await expect(pluginGenerator(tree, { kind: 'store', name: 'My Store' })).rejects.toThrow('--name must be lower case');
  });
});
