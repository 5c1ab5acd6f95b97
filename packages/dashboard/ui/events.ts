/**
 * The event types an endpoint can subscribe to. Kept here because the dashboard loads nothing of
 * @ferry/core (zod, Node); src/catalog.test.ts fails when this list and core's EVENT_TYPES differ.
 */
export const EVENT_TYPES = ['export.requested', 'export.completed', 'export.downloaded', 'export.failed', 'endpoint.disabled', 'dataset.version.published'] as const;

export const EVENT_HELP: Record<(typeof EVENT_TYPES)[number], string> = {
  'export.requested': 'an export was submitted',
  'export.completed': 'an export finished; its files can be downloaded',
  'export.downloaded': 'an export file was downloaded',
  'export.failed': 'an export failed or was cancelled',
  'endpoint.disabled': 'Ferry disabled an endpoint that kept failing',
  'dataset.version.published': 'a new version of a dataset was published',
};
