import type { ResolvedQuery } from '@ferry/core';
import { compileQuery, quoteLiteral } from '@ferry/query-sql';
import type { PgField } from './columns.js';
import type { Session } from './session.js';

/**
 * COPY takes no bind parameters, so values travel as transaction-local settings: one
 * `set_config('ferry.pN', $1[N], true)` per value, bound; the query reads them back with
 * `current_setting('ferry.pN')`, cast to the compared type. No value ever enters SQL text.
 */
const setting = (n: number): string => `current_setting(${quoteLiteral(`ferry.p${n}`)})`;

export interface CopyQuery {
  /** The query, its values read from the transaction's settings: ready to wrap in COPY. */
  sql: string;
  /** Its result columns, known before any row is read. */
  fields: PgField[];
}

/**
 * Open a READ ONLY transaction on `session` holding the query's values, and describe the result
 * (LIMIT 0 plans the query without reading a row). The caller ends the transaction: COMMIT after
 * the COPY, `rollbackCopy` to use the connection otherwise, or destroys the session.
 */
export async function beginCopy(session: Session, query: ResolvedQuery): Promise<CopyQuery> {
  const { sql, params } = compileQuery(query, 'postgres', { placeholder: setting });
  const { client } = session;
  await session.run(() => client.query('BEGIN READ ONLY'));
  if (params.length > 0) {
    await session.run(() =>
      client.query(`SELECT set_config('ferry.p' || n, v, true) FROM unnest(CAST($1 AS text[])) WITH ORDINALITY AS t(v, n)`, [params.map(String)]),
    );
  }
  const described = await session.run(() => client.query({ text: `SELECT * FROM (\n${sql}\n) AS "ferry_describe" LIMIT 0`, rowMode: 'array' }));
  return { sql, fields: described.fields };
}

export async function rollbackCopy(session: Session): Promise<void> {
  await session.run(() => session.client.query('ROLLBACK'));
}

export async function commitCopy(session: Session): Promise<void> {
  await session.run(() => session.client.query('COMMIT'));
}
