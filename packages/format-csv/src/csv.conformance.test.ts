import { describe, expect, it } from 'vitest';
import { batchOf, describeFormatConformance, int32Data, utf8Data, float64Data } from '@ferry/testing/format';
import { csvFormat } from './index.js';

describeFormatConformance({
  plugin: csvFormat,
  reader: 'csv',
  additionalTests: (kit) => {
    const small = batchOf([
      ['id', int32Data([1, 2, null])],
      ['name', utf8Data(['a;b', '', null])],
      ['x', float64Data([1.5, -0.25, null])],
    ]);

    describe('csv options', () => {
      it('defaults: comma, header, no BOM, LF line ends, NULL empty and "" for the empty string', async () => {
        const text = (await kit.writeAll(small.schema, [small])).toString('utf8');
        expect(text).toBe('id,name,x\n1,a;b,1.5\n2,"",-0.25\n,,\n');
      });

      it("delimiter ';' quotes fields containing it", async () => {
        const text = (await kit.writeAll(small.schema, [small], { delimiter: ';' })).toString('utf8');
        expect(text).toBe('id;name;x\n1;"a;b";1.5\n2;"";-0.25\n;;\n');
      });

      it('a delimiter that occurs in number text quotes those numbers', async () => {
        const text = (await kit.writeAll(small.schema, [small], { delimiter: '.' })).toString('utf8');
        expect(text).toBe('id.name.x\n1.a;b."1.5"\n2."".-0.25\n..\n'.replace('-0.25', '"-0.25"'));
      });

      it('header false writes only rows; zero rows then give an empty file', async () => {
        expect((await kit.writeAll(small.schema, [small], { header: false })).toString('utf8')).toBe('1,a;b,1.5\n2,"",-0.25\n,,\n');
        expect((await kit.writeAll(small.schema, [], { header: false })).length).toBe(0);
      });

      it('bom true starts the file with EF BB BF, also without rows', async () => {
        const bytes = await kit.writeAll(small.schema, [small], { bom: true });
        expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
        expect(bytes.subarray(3).toString('utf8').startsWith('id,name,x\n')).toBe(true);
        const empty = await kit.writeAll(small.schema, [], { bom: true });
        expect(empty.toString('utf8')).toBe('\ufeffid,name,x\n');
      });

      it('rejects bad options with the plugin schema', () => {
        expect(() => csvFormat.options.parse({ delimiter: ';;' })).toThrow();
        expect(() => csvFormat.options.parse({ delimiter: '"' })).toThrow();
        expect(() => csvFormat.options.parse({ delimiter: '\n' })).toThrow();
        expect(() => csvFormat.options.parse({ delimitr: ';' })).toThrow();
        expect(csvFormat.options.parse({})).toEqual({ delimiter: ',', header: true, bom: false });
      });

      it('quotes header names that need it', async () => {
        const { columns, batches } = kit.fixture();
        const text = (await kit.writeAll(batches[0]!.schema, batches)).toString('utf8');
        const last = columns[columns.length - 1]!.name;
        expect(text.split('\n')[0]!.endsWith(`,"${last.replaceAll('"', '""')}"`)).toBe(true);
      });
    });
  },
});
