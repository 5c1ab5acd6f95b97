import { definePlugin, type FormatWriter } from '@ferry/core';
import { arrowOptionsSchema, type ArrowOptions } from './options.js';
import { ArrowStreamWriter } from './writer.js';

export const arrowFormat = definePlugin({
  kind: 'format',
  name: 'arrow',
  description: 'Apache Arrow IPC stream (.arrows): the batches as they are, every type kept exactly',
  options: arrowOptionsSchema,
  capabilities: { streaming: true, compressible: true },
  create: (_options: ArrowOptions): FormatWriter => new ArrowStreamWriter(),
});
