import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { FerryError } from '@ferry/core';

const dataDirError = (message: string) => new FerryError('INVALID_CONFIG', message, { path: ['dataDir'] });

/**
 * Make sure the data directory exists and is writable, creating missing folders one level at a
 * time. (Node's recursive mkdir spins forever under /proc; a clear line beats a hang.)
 */
export async function prepareDataDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const missing: string[] = [];
  for (let current = target; ; current = dirname(current)) {
    try {
      if (!(await stat(current)).isDirectory()) throw dataDirError(`the data directory ${target} cannot be used: ${current} is a file, not a directory`);
      break;
    } catch (err) {
      if (err instanceof FerryError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw dataDirError(`the data directory ${target} cannot be used: part of its path is a file, not a directory`);
      if (code !== 'ENOENT' || dirname(current) === current) throw dataDirError(`the data directory ${target} cannot be used (${code ?? String(err)})`);
      missing.unshift(current);
    }
  }
  for (const folder of missing) await mkdir(folder).catch((err: NodeJS.ErrnoException) => failed(target, 'create', err));
  const probe = join(target, `.ferry-write-probe-${process.pid}`);
  await writeFile(probe, '').catch((err: NodeJS.ErrnoException) => failed(target, 'write to', err));
  await rm(probe, { force: true });
}

function failed(dir: string, action: string, err: NodeJS.ErrnoException): never {
  const why =
    err.code === 'EACCES' || err.code === 'EPERM'
      ? 'permission denied'
      : err.code === 'EROFS'
        ? 'the file system is read-only'
        : err.code === 'ENOSPC'
          ? 'the disk is full'
          : err.code === 'ENOENT'
            ? 'its parent does not allow new folders'
            : (err.code ?? err.message);
  throw dataDirError(`cannot ${action} the data directory ${dir}: ${why}`);
}

/** Fail fast, before minutes of start-up work, when the API's port is taken. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(portError(host, port, err)));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolvePort()));
  });
}

export function portError(host: string, port: number, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EADDRINUSE') return new FerryError('INVALID_CONFIG', `port ${port} on ${host} is already in use: stop what holds it, or choose another port`, { path: ['server', 'port'] });
  if (err.code === 'EACCES') return new FerryError('INVALID_CONFIG', `port ${port} on ${host} needs privileges this process lacks: choose a port above 1023`, { path: ['server', 'port'] });
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') return new FerryError('INVALID_CONFIG', `cannot listen on ${host}: no such interface on this machine`, { path: ['server', 'host'] });
  return err;
}
