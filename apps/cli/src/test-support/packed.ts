import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withFileLock } from '@ferry/testing/support';

const run = promisify(execFile);
export const WORKSPACE = fileURLToPath(new URL('../../../../', import.meta.url));

interface Manifest {
  name: string;
  private?: boolean;
}

/** Every package of the workspace that would be published (not private, under packages/ or apps/), by name, with its folder. */
export async function publishablePackages(): Promise<Map<string, string>> {
  const packages = new Map<string, string>();
  for (const group of ['packages', 'apps']) {
    for (const dir of await readdir(join(WORKSPACE, group))) {
      const manifest = JSON.parse(await readFile(join(WORKSPACE, group, dir, 'package.json'), 'utf8')) as Manifest;
      if (!manifest.private) packages.set(manifest.name, join(WORKSPACE, group, dir));
    }
  }
  return packages;
}

/**
 * Build every package once (nx orders them), then `npm pack` each into `dest` without its
 * prepack script (which would build it again). Returns the tarball of each package name.
 */
export async function packWorkspace(dest: string): Promise<Map<string, string>> {
  // The client's package test builds its dist/ too (npm pack): never both at once.
  return withFileLock('workspace-build', () => buildAndPack(dest));
}

async function buildAndPack(dest: string): Promise<Map<string, string>> {
  await run(process.execPath, [join(WORKSPACE, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'run-many', '-t', 'build', '--outputStyle=static'], {
    cwd: WORKSPACE,
    env: { ...process.env, NX_DAEMON: 'false', NX_TUI: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const names = [...(await publishablePackages()).keys()];
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dest, ...names.flatMap((n) => ['-w', n])], {
    cwd: WORKSPACE,
    maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout) as Array<{ name: string; filename: string }>;
  return new Map(packed.map((p) => [p.name, join(dest, p.filename)]));
}

/**
 * Install packed `@ferry/*` tarballs into `consumer/node_modules` the way npm lays them out, and
 * link every other dependency from the workspace's own install (this machine reaches no registry,
 * so the workspace's copies stand in for it; Ferry's own code comes only from the tarballs).
 */
export async function installPacked(consumer: string, tarballs: Map<string, string>): Promise<void> {
  const modules = join(consumer, 'node_modules');
  await mkdir(join(modules, '@ferry'), { recursive: true });
  for (const [name, tarball] of tarballs) {
    const target = join(modules, name);
    await mkdir(target, { recursive: true });
    await run('tar', ['-xzf', tarball, '-C', target, '--strip-components=1']);
  }
  const workspaceModules = join(WORKSPACE, 'node_modules');
  for (const entry of await readdir(workspaceModules)) {
    if (entry === '@ferry' || entry.startsWith('.')) continue;
    await symlink(join(workspaceModules, entry), join(modules, entry), 'dir');
  }
  // A dependency npm could not hoist (another version is at the top) sits in the package's own
  // node_modules in the workspace; it goes to the same place under the installed package.
  const folders = await publishablePackages();
  for (const name of tarballs.keys()) {
    const nested = join(folders.get(name)!, 'node_modules');
    const entries = await readdir(nested).catch(() => [] as string[]);
    if (entries.length === 0) continue;
    await mkdir(join(modules, name, 'node_modules'), { recursive: true });
    for (const entry of entries) {
      if (!entry.startsWith('.')) await symlink(join(nested, entry), join(modules, name, 'node_modules', entry), 'dir');
    }
  }
}
