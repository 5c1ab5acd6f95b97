// Test-only helpers (not exported from the package). Everything here talks to 127.0.0.1 only.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';

export interface StoredEvent {
  seq: number;
  subject: string;
  /** `Nats-Msg-Id`. */
  id: string;
  headers: Record<string, string>;
  body: string;
}

/** Stream names and subject prefixes of one test, so tests running at once never share a stream. */
export function uniqueNames(): { stream: string; subjectPrefix: string } {
  const tag = randomBytes(6).toString('hex');
  return { stream: `H3_${tag}`, subjectPrefix: `h3.${tag}` };
}

/** A second, independent connection: what a consumer of the stream sees. */
export class StreamInspector {
  private constructor(
    private readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
  ) {}

  static async open(servers: string): Promise<StreamInspector> {
    const nc = await connect({ servers, name: 'ferry-tests' });
    return new StreamInspector(nc, await jetstreamManager(nc));
  }

  /** Every message in the stream, oldest first; none when the stream does not exist. */
  async read(stream: string): Promise<StoredEvent[]> {
    const info = await this.jsm.streams.info(stream).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
      throw err;
    });
    if (!info || info.state.messages === 0) return [];
    const out: StoredEvent[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await this.jsm.streams.getMessage(stream, { seq });
      if (!m) continue;
      const headers: Record<string, string> = {};
      for (const [k, v] of m.header) headers[k] = v[0] ?? '';
      out.push({ seq: m.seq, subject: m.subject, id: headers['Nats-Msg-Id'] ?? '', headers, body: m.string() });
    }
    return out;
  }

  /** Idempotent: a stream that was never created is fine. */
  async deleteStream(stream: string): Promise<void> {
    await this.jsm.streams.delete(stream).catch((err: unknown) => {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    });
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
