import type { IncomingHttpHeaders } from 'node:http';
import type { Agent, Dispatcher } from 'undici';
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

/**
 * One POST attempt. Never throws: every outcome is a DeliveryResult the outbox can record.
 *
 * Sent with undici's `dispatch` and a handler of our own rather than `request`: no response
 * stream, promise chain or AbortSignal per attempt, which cost 1.5-2.6 times the client CPU per
 * POST (docs/benchmarks.md, "Webhook delivery"). The rules are `request`'s: the whole attempt is timed,
 * at most 4 KiB of the response are kept and the connection is dropped after that, and once the
 * status line is in, a body cut short (reset, timeout, abort) only shortens the excerpt.
 */
export function deliverOnce(
  ctx: DeliverContext,
  message: OutgoingWebhook,
  opts: { signal?: AbortSignal; timeoutMs?: number },
): Promise<DeliveryResult> {
  const started = performance.now();

  // Cheap re-check of what the URL says on its face (scheme, credentials, IP literal). Names are
  // re-vetted by the guarded connector on the addresses it actually dials.
  let url = ctx.vetted.get(message.url);
  if (url === undefined) {
    try {
      const target = parseTarget(message.url);
      if (target.literal) vetAddresses([target.host], target, ctx.policy);
      url = target.url;
    } catch (err) {
      return Promise.resolve(refused(err, Math.round(performance.now() - started)));
    }
    if (ctx.vetted.size >= VETTED_CACHE_SIZE) ctx.vetted.clear();
    ctx.vetted.set(message.url, url);
  }

  return new Promise((resolve) => {
    const attempt = new Attempt(started, opts.timeoutMs ?? ctx.defaultTimeoutMs, opts.signal, resolve);
    // Aborted before it started: nothing is sent.
    if (attempt.settled) return;
    try {
      ctx.agent.dispatch(
        { origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', headers: buildHeaders(message, ctx.userAgent), body: message.body },
        // undici's `request` never follows redirects unless a redirect interceptor is composed
        // in, nor does `dispatch`; we compose none, so a 3xx is just a status we report.
        attempt,
      );
    } catch (err) {
      attempt.onResponseError(null, err as Error);
    }
  });
}

/** The handler of one attempt: collects the status and the body excerpt, and settles exactly once. */
class Attempt implements Dispatcher.DispatchHandler {
  readonly #started: number;
  readonly #signal: AbortSignal | undefined;
  readonly #resolve: (result: DeliveryResult) => void;
  readonly #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | null = null;
  /** Why the attempt was stopped before undici handed over its controller: applied when it does. */
  #pendingAbort: Error | null = null;
  #settled = false;
  #status: number | null = null;
  #retryAfter: string | string[] | undefined;
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(started: number, timeoutMs: number, signal: AbortSignal | undefined, resolve: (result: DeliveryResult) => void) {
    this.#started = started;
    this.#signal = signal;
    this.#resolve = resolve;
    // A plain timer, cleared when the attempt ends: AbortSignal.timeout costs a timer plus a
    // finalization registration per attempt, and its timer outlives a fast attempt.
    this.#timer = setTimeout(() => this.#stop(`timed out after ${timeoutMs} ms`), timeoutMs);
    if (signal?.aborted) this.#stop('aborted');
    else signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Also how undici 7 tells a handler of its current API from a legacy one: keep it. */
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort) controller.abort(this.#pendingAbort);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.#status = statusCode;
    this.#retryAfter = headers['retry-after'];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    const take = chunk.subarray(0, RESPONSE_BODY_LIMIT - this.#size);
    this.#chunks.push(take);
    this.#size += take.length;
    if (this.#size < RESPONSE_BODY_LIMIT) return;
    // The excerpt is complete: the rest is not read, and the connection is dropped.
    this.#answered();
    controller.abort(new Error('response excerpt complete'));
  }

  onResponseEnd(): void {
    this.#answered();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    this.#end(() => failure(err, this.#elapsed()));
  }

  readonly #onAbort = (): void => this.#stop('aborted');

  /** Time or the caller ends the attempt, and undici is told to drop it. */
  #stop(error: string): void {
    if (this.#settled) return;
    this.#end(() => ({ ok: false, retryable: true, durationMs: this.#elapsed(), error }));
    const reason = new Error(error);
    if (this.#controller) this.#controller.abort(reason);
    else this.#pendingAbort = reason;
  }

  /**
   * The attempt ends early. Once the status line is in it told us the outcome, and a body cut
   * short only shortens the excerpt; before that, the attempt failed as `unanswered` says.
   */
  #end(unanswered: () => DeliveryResult): void {
    if (this.#status !== null) this.#answered();
    else this.#finish(unanswered());
  }

  #answered(): void {
    if (this.#settled) return;
    // Cutting mid-character yields a replacement char, which is fine for a diagnostic excerpt.
    const body = this.#chunks.length === 0 ? '' : decoder.decode(this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks));
    this.#finish(classifyResponse(this.#status!, this.#retryAfter, body, this.#elapsed()));
  }

  #finish(result: DeliveryResult): void {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#resolve(result);
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#started);
  }
}

/** An attempt that got no status line: what undici or the guarded connector reported. */
function failure(err: unknown, durationMs: number): DeliveryResult {
  if (err instanceof HostNotFoundError || err instanceof ConnectTimeoutError || err instanceof ResolveFailedError) {
    return { ok: false, retryable: true, durationMs, error: err.message };
  }
  if (err instanceof TargetRefusedError) return refused(err, durationMs);
  const code = errorCode(err);
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    // The agent's backstop fired (a per-call timeoutMs above the configured one).
    return { ok: false, retryable: true, durationMs, error: 'timed out waiting for the response' };
  }
  // undici refused to build the request (e.g. a header value with CR/LF): retrying cannot help.
  if (code === 'UND_ERR_INVALID_ARG') return { ok: false, retryable: false, durationMs, error: 'invalid request (rejected by the HTTP client)' };
  // Node's own messages embed host:port; the code alone is enough to act on and leaks nothing.
  return { ok: false, retryable: true, durationMs, error: `network error${code ? `: ${code}` : ''}` };
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
