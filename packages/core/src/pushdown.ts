import { z } from 'zod';
import type { NativeFormat } from './contracts.js';

/**
 * A source's `pushdown` option: `true` for every format it can write itself, `false` for none, or
 * a list of them. A name the source does not write is refused when the options are parsed.
 */
export function pushdownOption<const F extends readonly [NativeFormat, ...NativeFormat[]]>(formats: F, byDefault: boolean | F[number][]) {
  return z.union([z.boolean(), z.array(z.enum(formats))]).default(byDefault);
}

/** The formats a parsed `pushdown` option lets the source write itself. */
export function pushdownFormats(option: boolean | readonly NativeFormat[], formats: readonly NativeFormat[]): ReadonlySet<NativeFormat> {
  return new Set(option === true ? formats : option === false ? [] : option);
}
