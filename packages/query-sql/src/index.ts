export { compileQuery, outputSql, type CompiledQuery, type CompileOptions } from './compile.js';
export { aggregateSql, bucketSql, castType, orderedColumnSql, outputType, type Dialect } from './dialect.js';
export { escapeLike } from './conditions.js';
export { paramValue, positional, type ParamValue, type Placeholder } from './params.js';
export { relationSql } from './relation.js';
export { quoteIdent, quoteLiteral, quoteQualified } from './quote.js';
