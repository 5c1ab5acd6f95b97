import { SUBJECT_PREFIX } from './options.js';

/**
 * `<prefix>.<accountId>.<event type>`, e.g. `ferry.42.export.completed`. Event types keep their
 * dots, so they add tokens: `ferry.*.export.>` is every account's export events, `ferry.42.>`
 * everything of account 42. Null when the event type cannot be part of a subject (a wildcard or
 * an empty token would make the subject mean something else).
 */
export function eventSubject(prefix: string, event: { accountId: number; type: string }): string | null {
  if (!Number.isSafeInteger(event.accountId) || event.accountId < 0 || !SUBJECT_PREFIX.test(event.type)) return null;
  return `${prefix}.${event.accountId}.${event.type}`;
}
