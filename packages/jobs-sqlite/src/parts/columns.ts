/** Column <-> value helpers shared by the parts: times are epoch ms, structured values JSON text. */
export type Row = Record<string, unknown>;

export const ms = (d: Date): number => d.getTime();
export const msOrNull = (d: Date | null | undefined): number | null => (d === null || d === undefined ? null : d.getTime());
export const date = (v: unknown): Date => new Date(Number(v));
export const dateOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));
export const text = (v: unknown): string => String(v);
export const textOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const int = (v: unknown): number => Number(v);
export const intOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
export const bool = (v: unknown): boolean => Number(v) === 1;
export const json = <T>(v: unknown): T => JSON.parse(String(v)) as T;
export const jsonOrNull = <T>(v: unknown): T | null => (v === null || v === undefined ? null : (JSON.parse(String(v)) as T));
export const toJsonOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

