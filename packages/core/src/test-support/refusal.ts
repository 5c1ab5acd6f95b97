import type { z } from 'zod';
import { FerryError, formatPath } from '../errors.js';
import { parseOrThrow } from '../validate.js';

/** The 400 a client gets for `value`: the dotted path of the first bad field and its message. */
export function refusal(schema: z.ZodType, value: unknown): { path: string; message: string } {
  try {
    parseOrThrow(schema, value);
  } catch (err) {
    if (err instanceof FerryError && err.code === 'VALIDATION_FAILED') return { path: formatPath(err.path ?? []), message: err.message };
    throw err;
  }
  throw new Error(`expected ${JSON.stringify(value).slice(0, 200)} to be refused`);
}
