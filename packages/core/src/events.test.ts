import { describe, expect, it } from 'vitest';
import { eventMatches } from './events.js';

/** Which endpoints an event reaches: an endpoint must get what it subscribed to, and nothing else. */
describe('eventMatches', () => {
  it('matches an exact type, a family wildcard and *', () => {
    expect(eventMatches(['export.completed'], 'export.completed')).toBe(true);
    expect(eventMatches(['export.*'], 'export.failed')).toBe(true);
    expect(eventMatches(['dataset.*'], 'dataset.version.published')).toBe(true);
    expect(eventMatches(['dataset.version.*'], 'dataset.version.published')).toBe(true);
    expect(eventMatches(['*'], 'endpoint.disabled')).toBe(true);
  });

  it('matches nothing else', () => {
    expect(eventMatches([], 'export.completed')).toBe(false);
    expect(eventMatches(['export.completed'], 'export.failed')).toBe(false);
    expect(eventMatches(['export.*'], 'endpoint.disabled')).toBe(false);
    // A family is a dotted prefix, not a string prefix.
    expect(eventMatches(['export.*'], 'exports.completed')).toBe(false);
    expect(eventMatches(['export'], 'export.completed')).toBe(false);
    expect(eventMatches(['export.com'], 'export.completed')).toBe(false);
  });

  it('matches when any one of several filters does', () => {
    expect(eventMatches(['endpoint.disabled', 'export.completed'], 'export.completed')).toBe(true);
    expect(eventMatches(['endpoint.disabled', 'dataset.*'], 'export.completed')).toBe(false);
  });
});
