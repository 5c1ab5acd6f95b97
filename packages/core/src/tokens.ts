import type { Catalog } from './catalog.js';
import type { FormatWriter, Notifier, ObjectStore, QuerySource } from './contracts.js';
import type { JobStore } from './job-store.js';
import type { Logger } from './logger.js';

/** DI tokens for the composition roots (tsyringe lives in the apps only). */
export const TOKENS = {
  Jobs: Symbol.for('ferry.Jobs') as symbol & { __type?: JobStore },
  Store: Symbol.for('ferry.Store') as symbol & { __type?: ObjectStore },
  Notifier: Symbol.for('ferry.Notifier') as symbol & { __type?: Notifier },
  Sources: Symbol.for('ferry.Sources') as symbol & { __type?: ReadonlyMap<string, QuerySource> },
  Formats: Symbol.for('ferry.Formats') as symbol & { __type?: ReadonlyMap<string, FormatWriter> },
  Catalog: Symbol.for('ferry.Catalog') as symbol & { __type?: Catalog },
  Logger: Symbol.for('ferry.Logger') as symbol & { __type?: Logger },
} as const;
