import { describe, expect, it } from 'vitest';
import { RecordBatchStreamReader } from 'apache-arrow';
import { batchOf, describeFormatConformance, int32Data, utf8Data } from '@ferry/testing/format';
import { arrowFormat } from './index.js';

describeFormatConformance({
  plugin: arrowFormat,
  reader: 'arrow',
  additionalTests: (kit) => {
    describe('arrow stream layout', () => {
      it('one chunk per batch after the schema, ending with the end-of-stream marker', async () => {
        const batch = batchOf([
          ['n', int32Data([1, 2, null])],
          ['s', utf8Data(['a', null, ''])],
        ]);
        const writer = await kit.createWriter();
        const chunks: Uint8Array[] = [];
        async function* two(): AsyncGenerator<typeof batch> {
          yield batch;
          yield batch.slice(1);
        }
        for await (const chunk of writer.write(batch.schema, two(), { signal: new AbortController().signal })) chunks.push(chunk);
        expect(chunks).toHaveLength(4);
        expect([...chunks[3]!]).toEqual([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        // apache-arrow reads it too (the suite's independent check is arrow-rs; this is the JS side).
        const reader = RecordBatchStreamReader.from(Buffer.concat(chunks));
        const rows = [...reader].flatMap((b) => b.toArray().map((r) => r.toJSON()));
        expect(rows).toEqual([{ n: 1, s: 'a' }, { n: 2, s: null }, { n: null, s: '' }, { n: 2, s: null }, { n: null, s: '' }]);
      });

      it('rejects unknown options', () => {
        expect(() => arrowFormat.options.parse({ compression: 'lz4' })).toThrow();
        expect(arrowFormat.options.parse({})).toEqual({});
      });
    });
  },
});
