import { open, rm, type FileHandle } from 'node:fs/promises';
import { RecordBatchReader, RecordBatchStreamWriter, type RecordBatch } from 'apache-arrow';

/**
 * Record batches kept on local disk to be read again, each as one Arrow IPC stream message
 * (schema, batch, end), in an append-only file. Memory holds only the frame offsets; a batch is
 * read back when asked for. `reset` empties the file once no frame is needed any more, so it
 * stays about as large as the rows still to be re-read.
 */
export class BatchSpool {
  readonly #frames: Array<{ offset: number; length: number }> = [];
  #end = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
  ) {}

  /** Creates (or empties) the file at `path`. */
  static async create(path: string): Promise<BatchSpool> {
    return new BatchSpool(path, await open(path, 'w+'));
  }

  /** Store a batch; returns its frame number. */
  async append(batch: RecordBatch): Promise<number> {
    const writer = new RecordBatchStreamWriter();
    writer.write(batch);
    writer.finish();
    const bytes = writer.toUint8Array(true);
    let written = 0;
    while (written < bytes.byteLength) {
      written += (await this.handle.write(bytes, written, bytes.byteLength - written, this.#end + written)).bytesWritten;
    }
    this.#frames.push({ offset: this.#end, length: bytes.byteLength });
    this.#end += bytes.byteLength;
    return this.#frames.length - 1;
  }

  async read(frame: number): Promise<RecordBatch> {
    const entry = this.#frames[frame];
    if (!entry) throw new RangeError(`no frame ${frame} in the spool`);
    const bytes = Buffer.allocUnsafe(entry.length);
    let read = 0;
    while (read < entry.length) {
      const n = (await this.handle.read(bytes, read, entry.length - read, entry.offset + read)).bytesRead;
      if (n === 0) throw new Error(`the spool ${this.path} ends inside frame ${frame}`);
      read += n;
    }
    const batch = RecordBatchReader.from(bytes).next().value as RecordBatch | undefined;
    if (!batch) throw new Error(`frame ${frame} of the spool holds no batch`);
    return batch;
  }

  /** Forget every frame and give the disk space back. */
  async reset(): Promise<void> {
    this.#frames.length = 0;
    this.#end = 0;
    await this.handle.truncate(0);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
