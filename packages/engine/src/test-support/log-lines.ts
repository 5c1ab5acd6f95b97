import type { Logger } from '@ferry/core';

/** One line a logger was asked to write, as tests assert on it. */
export interface LogLine {
  level: 'info' | 'warn' | 'error';
  obj: object | string;
  msg?: string;
}

/** A logger handing each info, warn and error line to `keep` (debug lines are dropped). */
export function recordingLogger(keep: (line: LogLine) => void): Logger {
  return {
    info: (obj, msg) => keep({ level: 'info', obj, msg }),
    warn: (obj, msg) => keep({ level: 'warn', obj, msg }),
    error: (obj, msg) => keep({ level: 'error', obj, msg }),
    debug: () => {},
  };
}
