/**
 * Quoting for the only things Ferry ever splices into SQL: identifiers from the catalog and
 * trusted config literals (file paths). Client-supplied values never come through here; they
 * are bound parameters.
 */

/** `"name"`, doubling embedded quotes. NUL cannot be represented in either dialect, so refuse it. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error(`invalid SQL identifier ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** A dotted name (`schema.table` or `catalog.schema.table`), each part quoted on its own. */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/**
 * `'text'`, doubling embedded quotes. Standard SQL escaping, valid in DuckDB and in PostgreSQL
 * with `standard_conforming_strings` on (the default since 9.1); backslashes are literal in both.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('SQL string literals cannot contain NUL');
  return `'${value.replaceAll("'", "''")}'`;
}
