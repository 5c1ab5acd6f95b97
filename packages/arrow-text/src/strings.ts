import { isUtf8 } from 'node:buffer';
import { Type, type Data } from 'apache-arrow';

/** The bytes of a string column, with offsets rebased to 32 bits and guaranteed-valid UTF-8. */
export interface Utf8Cells {
  /** Cell `i` is `values[offsets[i] .. offsets[i + 1])`. */
  values: Uint8Array;
  offsets: Int32Array;
}

/**
 * Direct access to the UTF-8 bytes of a Utf8 or LargeUtf8 column, so formats can copy (and escape)
 * bytes without decoding each value into a JS string. Returns null for other types.
 *
 * Arrow requires valid UTF-8 but producers do not always deliver it (for instance CESU-8 encoded
 * lone surrogates). Output must stay valid UTF-8, so a column whose bytes fail validation (checked
 * once per batch, natively) is re-encoded with U+FFFD for every invalid sequence, as TextDecoder does.
 */
export function utf8Cells(data: Data): Utf8Cells | null {
  let offsets: Int32Array;
  if (data.typeId === Type.Utf8) {
    offsets = data.valueOffsets as Int32Array;
  } else if (data.typeId === Type.LargeUtf8) {
    const large = data.valueOffsets as unknown as BigInt64Array;
    offsets = new Int32Array(data.length + 1);
    for (let i = 0; i <= data.length; i++) {
      const v = Number(large[i]);
      if (v > 0x7fffffff) throw new RangeError('a LargeUtf8 batch above 2 GiB is not supported; use smaller batches');
      offsets[i] = v;
    }
  } else {
    return null;
  }
  const values = data.values as Uint8Array;
  const start = offsets[0]!;
  const end = offsets[data.length]!;
  if (isUtf8(values.subarray(start, end))) return { values, offsets };
  return sanitize(values, offsets, data.length);
}

function sanitize(values: Uint8Array, offsets: Int32Array, n: number): Utf8Cells {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const rebased = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const bytes = encoder.encode(decoder.decode(values.subarray(offsets[i]!, offsets[i + 1]!)));
    parts.push(bytes);
    total += bytes.length;
    rebased[i + 1] = total;
  }
  const clean = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    clean.set(part, p);
    p += part.length;
  }
  return { values: clean, offsets: rebased };
}
