import Cursor from 'pg-cursor';
import type { PgField, Row } from './columns.js';
import { TEXT_TYPES } from './connection.js';

export interface CursorRead {
  rows: Row[];
  fields: PgField[];
}

/** A server-side cursor (a portal fetched `n` rows at a time), rows as arrays of text. */
export function textCursor(sql: string, params: ReadonlyArray<string | number | boolean>): Cursor<Row> {
  return new Cursor<Row>(sql, [...params], { rowMode: 'array', types: TEXT_TYPES });
}

/** Read up to `n` rows; the fields are known even when no row comes back. */
export function readRows(cursor: Cursor<Row>, n: number): Promise<CursorRead> {
  return new Promise((resolve, reject) => {
    cursor.read(n, (err, rows, result) => {
      if (err) reject(err);
      else resolve({ rows, fields: result.fields });
    });
  });
}
