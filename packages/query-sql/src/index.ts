export { compileQuery, type CompiledQuery } from './compile.js';
export { aggregateSql, castType, outputType, type Dialect } from './dialect.js';
export { relationSql } from './relation.js';
export { quoteIdent, quoteLiteral, quoteQualified } from './quote.js';
