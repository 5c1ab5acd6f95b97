/**
 * DuckDB's CSV writer is used to write whole lines we built in SQL (one VARCHAR column, U+0001 as
 * delimiter, U+0002 as quote). It still quotes a line when it contains `#`, CR, LF, U+0001 or
 * U+0002 (wrapping it in U+0002 and doubling inner U+0002), and writes an empty line as two
 * U+0002. This undoes exactly that, streaming, so the bytes are our lines as built.
 */
export async function* unwrapLines(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const QUOTE = 2;
  const LF = 10;
  let atLineStart = true;
  let quoted = false;
  /** Inside a quoted line, the previous byte was a quote: either the closing one or half of a doubled one. */
  let pendingQuote = false;
  for await (const chunk of chunks) {
    const out = new Uint8Array(chunk.length);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (atLineStart) {
        atLineStart = false;
        if (b === QUOTE) {
          quoted = true;
          continue;
        }
      }
      if (quoted) {
        if (pendingQuote) {
          pendingQuote = false;
          if (b === QUOTE) {
            out[n++] = QUOTE;
            continue;
          }
          // The previous quote closed the line; only the line end can follow it.
          quoted = false;
        } else if (b === QUOTE) {
          pendingQuote = true;
          continue;
        } else {
          out[n++] = b;
          continue;
        }
      }
      out[n++] = b;
      if (b === LF) atLineStart = true;
    }
    if (n > 0) yield out.subarray(0, n);
  }
}
