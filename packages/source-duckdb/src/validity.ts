/**
 * An Arrow validity bitmap being filled: bit i set = row i is valid (LSB first, as Arrow wants).
 * Starts all-invalid and sets bits as rows arrive, counting the nulls on the way.
 */
export class ValidityBuilder {
  readonly bits: Uint8Array;
  nullCount = 0;

  constructor(capacity: number) {
    this.bits = new Uint8Array(Math.ceil(capacity / 8));
  }

  /** Copy DuckDB validity for source rows [from, to) to rows starting at `at`. */
  copy(source: Uint8Array | null, from: number, to: number, at: number): void {
    const bits = this.bits;
    let row = at;
    if (source === null) {
      for (let i = from; i < to; i++, row++) bits[row >> 3]! |= 1 << (row & 7);
      return;
    }
    for (let i = from; i < to; i++, row++) {
      if ((source[i >> 3]! >> (i & 7)) & 1) bits[row >> 3]! |= 1 << (row & 7);
      else this.nullCount++;
    }
  }

  /** Record one row given whether it is valid. */
  set(row: number, valid: boolean): void {
    if (valid) this.bits[row >> 3]! |= 1 << (row & 7);
    else this.nullCount++;
  }

  /** The bitmap for `length` rows; none at all when every row is valid (Arrow's convention). */
  finish(length: number): Uint8Array | undefined {
    return this.nullCount === 0 ? undefined : this.bits.subarray(0, Math.ceil(length / 8));
  }
}
