import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { Type, type Data, type Decimal, type RecordBatch } from 'apache-arrow';
import { createCatalog, resolveQuery, type DatasetDefinition, type QuerySource } from '@ferry/core';
import { QUERY_CASES } from './query-cases.js';
import { suiteDataset, suiteTableSql } from './query-fixture.js';

/** A result as names plus rows of normalized cells (text, or null), comparable across sources. */
export interface NormalizedResult {
  names: string[];
  rows: Array<Array<string | null>>;
}

function decimalText(data: Data<Decimal>, i: number): string {
  const w = (data.values as Uint32Array).subarray((data.offset + i) * 4, (data.offset + i) * 4 + 4);
  const unsigned = BigInt(w[0]!) | (BigInt(w[1]!) << 32n) | (BigInt(w[2]!) << 64n) | (BigInt(w[3]!) << 96n);
  const value = BigInt.asIntN(128, unsigned);
  const digits = (value < 0n ? -value : value).toString().padStart(data.type.scale + 1, '0');
  const whole = data.type.scale ? `${digits.slice(0, -data.type.scale)}.${digits.slice(-data.type.scale)}` : digits;
  return value < 0n ? `-${whole}` : whole;
}

/** Cells Arrow's `get` would make lossy or odd (decimal words, date milliseconds) as DuckDB prints them. */
function exactText(data: Data, i: number): string | null {
  if (data.typeId === Type.Decimal) return decimalText(data as Data<Decimal>, i);
  if (data.typeId === Type.Date) return new Date((data.values as Int32Array)[data.offset + i]! * 86_400_000).toISOString().slice(0, 10);
  return null;
}

/** Normalize Arrow batches (schema field names, cells as text). */
export function normalizeBatches(names: string[], batches: readonly RecordBatch[]): NormalizedResult {
  const rows: Array<Array<string | null>> = [];
  for (const batch of batches) {
    const columns = batch.schema.fields.map((_, c) => batch.getChildAt(c)!);
    for (let r = 0; r < batch.numRows; r++) {
      rows.push(
        columns.map((vector) => {
          let i = r;
          for (const data of vector.data) {
            if (i < data.length) {
              if (!data.getValid(i)) return null;
              if (data.typeId === Type.Timestamp) throw new Error('the query suite compares no timestamp outputs');
              // Numbers, Int64 bigints, booleans and strings are exact through Arrow's `get`.
              return exactText(data, i) ?? String(vector.get(r));
            }
            i -= data.length;
          }
          throw new Error('row out of range');
        }),
      );
    }
  }
  return { names, rows };
}

export interface QuerySuiteSetup {
  source: QuerySource;
  /** Where the suite rows are for this source (create them with `suiteTableSql` or a file). */
  relation: DatasetDefinition['relation'];
}

export interface QuerySuiteOptions {
  /** Create the source and load the suite rows; called once before the cases. */
  setup(): Promise<QuerySuiteSetup>;
  /** Drop what setup created (the source is closed by the suite). */
  teardown?(): Promise<void>;
}

/**
 * The shared query suite (query-cases.ts): every case through `source.open`, compared cell for
 * cell, in order, with its hand-written reference SQL run on DuckDB over the same rows. Any SQL
 * source runs it; two sources that pass it give identical results.
 */
export function describeQuerySuite(name: string, options: QuerySuiteOptions): void {
  describe(`query suite: ${name}`, () => {
    let setup: QuerySuiteSetup;
    let catalog: ReturnType<typeof createCatalog>;
    const references = new Map<string, NormalizedResult>();

    beforeAll(async () => {
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      try {
        for (const sql of suiteTableSql('duckdb', 'rows')) await conn.run(sql);
        for (const c of QUERY_CASES) {
          const reader = await conn.runAndReadAll(c.reference);
          const rows = reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
          references.set(c.name, { names: reader.columnNames(), rows });
        }
      } finally {
        conn.closeSync();
        instance.closeSync();
      }
      setup = await options.setup();
      catalog = createCatalog([suiteDataset(setup.relation)]);
    });

    afterAll(async () => {
      await setup?.source.close();
      await options.teardown?.();
    });

    it('has at least 40 cases with unique names', () => {
      expect(QUERY_CASES.length).toBeGreaterThanOrEqual(40);
      expect(new Set(QUERY_CASES.map((c) => c.name)).size).toBe(QUERY_CASES.length);
    });

    for (const c of QUERY_CASES) {
      it(c.name, async () => {
        const stream = await setup.source.open(resolveQuery(catalog, c.query), { signal: new AbortController().signal });
        const batches: RecordBatch[] = [];
        for await (const batch of stream.batches) batches.push(batch);
        const actual = normalizeBatches(
          stream.schema.fields.map((f) => f.name),
          batches,
        );
        const reference = references.get(c.name)!;
        expect(reference.rows.length > 0, 'the reference returns rows').toBe(!c.empty);
        expect(actual).toEqual(reference);
      });
    }
  });
}
