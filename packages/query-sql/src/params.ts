import { FerryError, type ColumnType, type FieldPath, type FilterValue } from '@ferry/core';
import { castType, type Dialect } from './dialect.js';

export type ParamValue = string | number | boolean;

/** How a parameter is referenced in SQL text: `$n` normally; sources may choose another form (e.g. for COPY). */
export type Placeholder = (position: number) => string;

export const positional: Placeholder = (n) => `$${n}`;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function mismatch(type: ColumnType, value: FilterValue, path: FieldPath): FerryError {
  return new FerryError('TYPE_MISMATCH', `${JSON.stringify(value)} is not a valid ${type}`, { path });
}

/**
 * Shape a filter value for binding. The SQL casts every parameter to the compared type, so the
 * value only needs to survive the driver: integers stay numbers, and anything that must be exact
 * beyond a double (bigint, decimal) or is parsed by the database (date, timestamp) goes as text.
 */
export function paramValue(type: ColumnType, value: FilterValue, path: FieldPath): ParamValue {
  switch (type) {
    case 'integer': {
      const n = typeof value === 'string' ? Number(value) : value;
      // Out of range would only surface as a database cast error (a 500); it is the client's mistake.
      if (typeof n !== 'number' || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) throw mismatch(type, value, path);
      return n;
    }
    case 'bigint': {
      const text = String(value);
      if (!/^-?\d+$/.test(text) || BigInt(text) < INT64_MIN || BigInt(text) > INT64_MAX) throw mismatch(type, value, path);
      return text;
    }
    case 'double':
      return typeof value === 'string' ? Number(value) : value;
    case 'decimal':
      return typeof value === 'number' ? String(value) : value;
    default:
      return value;
  }
}

/** Collects parameters; each `bind` returns the SQL that reads it, cast to the compared type. */
export class Binder {
  readonly params: ParamValue[] = [];

  constructor(
    private readonly dialect: Dialect,
    private readonly placeholder: Placeholder,
  ) {}

  /** A filter value compared with a `type` expression. */
  value(type: ColumnType, value: FilterValue, path: FieldPath): string {
    return this.raw(paramValue(type, value, path), type);
  }

  /** An already shaped value (e.g. a LIKE pattern built from the client's text). */
  raw(value: ParamValue, type: ColumnType): string {
    this.params.push(value);
    return `CAST(${this.placeholder(this.params.length)} AS ${castType(this.dialect, type)})`;
  }
}
