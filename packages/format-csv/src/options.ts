import { z } from 'zod';

/** One ASCII character that cannot be confused with quoting or line ends. */
const delimiter = z
  .string()
  .length(1, 'the delimiter is exactly one character')
  .refine((d) => d.charCodeAt(0) < 128, 'the delimiter must be an ASCII character')
  .refine((d) => d !== '"' && d !== '\r' && d !== '\n', 'the delimiter cannot be a quote or a line break');

export const csvOptionsSchema = z.strictObject({
  /** Field separator; `,` by default, `;` for European Excel, `\t` for TSV-like output. */
  delimiter: delimiter.default(','),
  /** Write the column names as the first line. */
  header: z.boolean().default(true),
  /** Start the file with a UTF-8 byte order mark (EF BB BF) so Excel detects UTF-8. */
  bom: z.boolean().default(false),
});

export type CsvOptions = z.output<typeof csvOptionsSchema>;
