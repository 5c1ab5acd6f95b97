import net from 'node:net';

export interface LoopbackGuard {
  /** Every non-loopback `host:port` something tried to reach, even if the caller swallowed the error. */
  attempts: string[];
  restore(): void;
}

/**
 * Make any socket to a non-loopback host fail loudly, and remember the attempt. Cloud SDKs reach for
 * their clouds when a setting is missing (default endpoints, IMDS or metadata-server credentials,
 * OAuth tokens); tests must never send traffic anywhere but 127.0.0.1, and a swallowed failure (the
 * credential chains swallow many) must still be visible.
 */
export function guardLoopbackOnly(): LoopbackGuard {
  const original = net.Socket.prototype.connect;
  const allowed = new Set(['127.0.0.1', 'localhost', '::1']);
  const attempts: string[] = [];
  // `connect` has many overloads; http(s) and gaxios use the options form, which is what this inspects.
  const guarded = function (this: net.Socket, ...args: unknown[]) {
    // net.connect/http agents pass one pre-normalized array `[options, callback]`.
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const opts = typeof first === 'object' && first !== null ? (first as { host?: unknown; port?: unknown; path?: unknown }) : {};
    const host = typeof opts.host === 'string' ? opts.host : opts.path === undefined ? 'localhost' : undefined;
    if (host !== undefined && !allowed.has(host)) {
      attempts.push(`${host}:${String(opts.port)}`);
      throw new Error(`test tried to connect to ${host}:${String(opts.port)}; only loopback is allowed`);
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  net.Socket.prototype.connect = guarded as typeof original;
  return {
    attempts,
    restore: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
