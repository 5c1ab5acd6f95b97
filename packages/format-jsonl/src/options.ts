import { z } from 'zod';

/** JSON Lines has nothing to configure today; strict so that typos in config are reported. */
export const jsonlOptionsSchema = z.strictObject({});

export type JsonlOptions = z.output<typeof jsonlOptionsSchema>;
