import type { Command } from 'commander';
import { registerExport } from './export.js';
import { registerExports } from './exports.js';
import { registerEndpoints } from './endpoints.js';
import { registerDeliveries } from './deliveries.js';
import { registerVersions } from './versions.js';
import { registerSync } from './sync.js';

export { clientErrorLine } from './output.js';

/** The commands that talk to a running Ferry through @ferry/client (the roles run Ferry itself). */
export function registerClientCommands(program: Command): void {
  registerExport(program);
  registerExports(program);
  registerEndpoints(program);
  registerDeliveries(program);
  registerVersions(program);
  registerSync(program);
}
