import { describe, expect, it } from 'vitest';
import { logSerializers, redactUrl } from './log-serializers.js';

describe('request log lines', () => {
  it('never carry a download token', () => {
    expect(redactUrl('/downloads/YjZjOWQz.Q9y-A20Au')).toBe('/downloads/<redacted>');
    expect(redactUrl('/downloads/abc?x=1')).toBe('/downloads/<redacted>?x=1');
    expect(redactUrl('/dataset/export/123')).toBe('/dataset/export/123');
    expect(logSerializers.req({ method: 'GET', url: '/downloads/secret-token', ip: '127.0.0.1' })).toEqual({
      method: 'GET',
      url: '/downloads/<redacted>',
      remoteAddress: '127.0.0.1',
    });
  });
});
