import { describe, expect, it } from 'vitest';
import { batchOf, describeFormatConformance, float64Data, int32Data, utf8Data } from '@ferry/testing/format';
import { jsonlFormat } from './index.js';

describeFormatConformance({
  plugin: jsonlFormat,
  reader: 'json',
  additionalTests: (kit) => {
    describe('jsonl encoding', () => {
      it('one object per line, keys in schema order, NULL as null', async () => {
        const batch = batchOf([
          ['b', int32Data([1, null])],
          ['a', utf8Data(['x', null])],
        ]);
        expect((await kit.writeAll(batch.schema, [batch])).toString('utf8')).toBe('{"b":1,"a":"x"}\n{"b":null,"a":null}\n');
      });

      it('every line parses with JSON.parse and gives back the strings', async () => {
        const { columns, batches } = kit.fixture();
        const lines = (await kit.writeAll(batches[0]!.schema, batches)).toString('utf8').trimEnd().split('\n');
        const text = columns.find((c) => c.name === 'text')!;
        expect(lines.map((l) => (JSON.parse(l) as { text: string | null }).text)).toEqual(text.expected);
      });

      it('escapes control characters, U+2028/U+2029 and replaces invalid UTF-8', async () => {
        const batch = batchOf([['s', utf8Data(['a"b\\c\n\u0001\u2028\u2029'])]]);
        expect((await kit.writeAll(batch.schema, [batch])).toString('utf8')).toBe('{"s":"a\\"b\\\\c\\n\\u0001\\u2028\\u2029"}\n');
        // CESU-8 encoded lone surrogate (ED A0 80) is invalid UTF-8: the output must stay valid.
        const raw = utf8Data(['ok']);
        const bad = raw.clone(raw.type, 0, 1, 0, [Int32Array.of(0, 4), Uint8Array.of(0x61, 0xed, 0xa0, 0x80), undefined, undefined] as never);
        const out = await kit.writeAll(batchOf([['s', bad]]).schema, [batchOf([['s', bad]])]);
        const { isUtf8 } = await import('node:buffer');
        expect(isUtf8(out)).toBe(true);
        expect((JSON.parse(out.toString('utf8')) as { s: string }).s.startsWith('a\ufffd')).toBe(true);
      });

      it('non-finite doubles are strings; -0 keeps its sign', async () => {
        const batch = batchOf([['d', float64Data([Number.NaN, Infinity, -Infinity, -0, 0.1])]]);
        expect((await kit.writeAll(batch.schema, [batch])).toString('utf8')).toBe(
          '{"d":"NaN"}\n{"d":"Infinity"}\n{"d":"-Infinity"}\n{"d":-0}\n{"d":0.1}\n',
        );
      });

      it('zero rows give an empty file', async () => {
        const batch = batchOf([['a', int32Data([1])]]);
        expect((await kit.writeAll(batch.schema, [])).length).toBe(0);
      });

      it('rejects unknown options', () => {
        expect(() => jsonlFormat.options.parse({ pretty: true })).toThrow();
      });
    });
  },
});
