import { describeFormatConformance, sqlIdent, sqlString, type FormatReadBack } from '@ferry/testing/format';
import { csvFormat } from './index.js';

/**
 * The suite's reader hook, as a third-party format uses it: DuckDB's default CSV dialect is `,`, so
 * this read-back tells it the delimiter. The same values must come back as with the default dialect.
 */
const semicolonCsv: FormatReadBack = {
  typed: false,
  read: (file, columns, orderBy, duck) => {
    const spec = `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.duckType)}`).join(', ')}}`;
    const exprs = columns.map((c) => c.select.replaceAll(/\bx\b/g, sqlIdent(c.name)));
    return duck.query(
      `SELECT ${exprs.join(', ')} FROM read_csv(${sqlString(file)}, header=true, columns=${spec}, auto_detect=false, ` +
        `delim=';', quote='"', escape='"', nullstr='', allow_quoted_nulls=false)${orderBy ? ` ORDER BY ${sqlIdent(orderBy)}` : ''}`,
    );
  },
};

describeFormatConformance({ plugin: csvFormat, options: { delimiter: ';' }, reader: semicolonCsv });
