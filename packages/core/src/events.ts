/**
 * Event type filters of an endpoint: exact names (`export.completed`), a family wildcard
 * (`export.*`) or everything (`*`).
 */
export function eventMatches(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => p === '*' || p === type || (p.endsWith('.*') && type.startsWith(p.slice(0, -1))));
}

export const EVENT_TYPES = [
  'export.requested',
  'export.completed',
  'export.downloaded',
  'export.failed',
  'endpoint.disabled',
  'dataset.version.published',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
