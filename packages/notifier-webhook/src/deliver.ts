import { Agent, request } from 'undici';
import type { DeliveryResult, OutgoingWebhook } from '@ferry/core';
import { ConnectTimeoutError } from './connector.js';
import { parseRetryAfter } from './retry-after.js';
import { errorCode, HostNotFoundError, parseTarget, ResolveFailedError, TargetRefusedError, vetAddresses } from './target.js';
import type { AddressPolicy } from './address-policy.js';

export const RESPONSE_BODY_LIMIT = 4096;

/** Headers a message must not set: they describe the connection, which is ours to manage. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'proxy-authorization',
  'proxy-connection',
]);

export interface DeliverContext {
  agent: Agent;
  policy: AddressPolicy;
  userAgent: string;
  defaultTimeoutMs: number;
  /** URLs that passed the check on their face under `policy`, by their text: a worker posts to the same few endpoints over and over. */
  vetted: Map<string, URL>;
}

/** Enough for every endpoint a worker serves at once; past it the cache starts over rather than grow. */
const VETTED_CACHE_SIZE = 10_000;
const decoder = new TextDecoder();

/** One POST attempt. Never throws: every outcome is a DeliveryResult the outbox can record. */
export async function deliverOnce(
  ctx: DeliverContext,
  message: OutgoingWebhook,
  opts: { signal?: AbortSignal; timeoutMs?: number },
): Promise<DeliveryResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);

  // Cheap re-check of what the URL says on its face (scheme, credentials, IP literal). Names are
  // re-vetted by the guarded connector on the addresses it actually dials.
  let url = ctx.vetted.get(message.url);
  if (url === undefined) {
    try {
      const target = parseTarget(message.url);
      if (target.literal) vetAddresses([target.host], target, ctx.policy);
      url = target.url;
    } catch (err) {
      return refused(err, elapsed());
    }
    if (ctx.vetted.size >= VETTED_CACHE_SIZE) ctx.vetted.clear();
    ctx.vetted.set(message.url, url);
  }

  const timeoutMs = opts.timeoutMs ?? ctx.defaultTimeoutMs;
  // A plain timer, cleared when the attempt ends: AbortSignal.timeout costs a timer plus a
  // finalization registration per attempt, and its timer outlives a fast attempt.
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout.signal]) : timeout.signal;

  try {
    const res = await request(url, {
      dispatcher: ctx.agent,
      method: 'POST',
      headers: buildHeaders(message, ctx.userAgent),
      body: message.body,
      signal,
      // undici's `request` never follows redirects unless a redirect interceptor is composed in;
      // we compose none, so a 3xx is just a status we report.
    });
    const responseBody = await readPrefix(res.body, RESPONSE_BODY_LIMIT);
    return classifyResponse(res.statusCode, res.headers['retry-after'], responseBody, elapsed());
  } catch (err) {
    if (timeout.signal.aborted) return { ok: false, retryable: true, durationMs: elapsed(), error: `timed out after ${timeoutMs} ms` };
    if (opts.signal?.aborted) return { ok: false, retryable: true, durationMs: elapsed(), error: 'aborted' };
    if (err instanceof HostNotFoundError || err instanceof ConnectTimeoutError || err instanceof ResolveFailedError) {
      return { ok: false, retryable: true, durationMs: elapsed(), error: err.message };
    }
    if (err instanceof TargetRefusedError) return refused(err, elapsed());
    const code = errorCode(err);
    // undici refused to build the request (e.g. a header value with CR/LF): retrying cannot help.
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
      // The agent's backstop fired (a per-call timeoutMs above the configured one).
      return { ok: false, retryable: true, durationMs: elapsed(), error: 'timed out waiting for the response' };
    }
    if (code === 'UND_ERR_INVALID_ARG') return { ok: false, retryable: false, durationMs: elapsed(), error: 'invalid request (rejected by the HTTP client)' };
    // Node's own messages embed host:port; the code alone is enough to act on and leaks nothing.
    return { ok: false, retryable: true, durationMs: elapsed(), error: `network error${code ? `: ${code}` : ''}` };
  } finally {
    clearTimeout(timer);
  }
}

function refused(err: unknown, durationMs: number): DeliveryResult {
  const reason = err instanceof TargetRefusedError ? err.message : 'webhook URL refused';
  return { ok: false, retryable: false, durationMs, error: `target refused: ${reason}` };
}

function buildHeaders(message: OutgoingWebhook, userAgent: string): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': userAgent };
  for (const [name, value] of Object.entries(message.headers)) {
    const lower = name.toLowerCase();
    if (!RESERVED_HEADERS.has(lower)) headers[lower] = value;
  }
  // The id is what receivers dedupe on and what signatures cover; the message's own id wins.
  headers['webhook-id'] = message.id;
  return headers;
}

export function classifyResponse(
  status: number,
  retryAfter: string | string[] | undefined,
  responseBody: string,
  durationMs: number,
): DeliveryResult {
  const base = { status, durationMs, responseBody };
  if (status >= 200 && status < 300) return { ...base, ok: true, retryable: false };
  if (status >= 300 && status < 400) {
    // Following would let a receiver bounce us to an internal URL; a redirect is a failed attempt.
    return { ...base, ok: false, retryable: true, error: `redirect (HTTP ${status}) not followed` };
  }
  const retryable = status >= 500 || status === 429 || status === 408;
  const result: DeliveryResult = { ...base, ok: false, retryable, error: `HTTP ${status}` };
  if (status === 429 || status === 503) {
    const ms = parseRetryAfter(Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
    if (ms !== undefined) result.retryAfterMs = ms;
  }
  return result;
}

/** Keep the first `limit` bytes for the attempt log; stop reading (and drop the connection) after that. */
async function readPrefix(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const take = chunk.subarray(0, limit - size);
      chunks.push(take);
      size += take.length;
      if (size >= limit) break;
    }
  } catch {
    // The status line already told us the outcome; a body cut short (reset, timeout) only
    // shortens the excerpt.
  }
  // Cutting mid-character yields a replacement char, which is fine for a diagnostic excerpt.
  return chunks.length === 0 ? '' : decoder.decode(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
}
