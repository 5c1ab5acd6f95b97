/** SQL quoting for the statements this package builds (names come from files and the catalog, never from clients). */

export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

export function parquet(file: string): string {
  return `read_parquet(${literal(file)})`;
}

/** `a.k1 = b.k1 AND a.k2 = b.k2` */
export function keyJoin(keys: readonly string[], a: string, b: string): string {
  return keys.map((k) => `${a}.${ident(k)} = ${b}.${ident(k)}`).join(' AND ');
}

export function keyList(keys: readonly string[]): string {
  return keys.map(ident).join(', ');
}
