/**
 * How requests appear in logs. A download link's token is the credential for the file, so it
 * never reaches a log line; neither do API keys (headers are not logged at all).
 */
export function redactUrl(url: string): string {
  return url.replace(/^\/downloads\/[^/?#]+/, '/downloads/<redacted>');
}

export const logSerializers = {
  req(req: { method?: string; url?: string; ip?: string; socket?: { remoteAddress?: string } }) {
    return { method: req.method, url: redactUrl(req.url ?? ''), remoteAddress: req.ip ?? req.socket?.remoteAddress };
  },
};
