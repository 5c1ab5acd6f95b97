import type { z } from 'zod';
import { FerryError, type ErrorCode, type FieldPath } from './errors.js';

/**
 * Parse with a zod schema and turn the first issue into a FerryError carrying its path.
 * One place for this so every 400 in Ferry looks the same.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  options: { basePath?: FieldPath; code?: ErrorCode; plugin?: string } = {},
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [...(options.basePath ?? []), ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
  throw new FerryError(options.code ?? 'VALIDATION_FAILED', describeIssue(issue), {
    path,
    plugin: options.plugin,
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown field(s): ${issue.keys.join(', ')}`;
  // zod puts a record key's own message (e.g. `counter names are lower snake case`) inside a generic "Invalid key in record".
  if (issue.code === 'invalid_key') return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}
