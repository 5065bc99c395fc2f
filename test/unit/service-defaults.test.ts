/** startService() defaults as `npm start` does: tests and tools that start the service get what a user gets. */
import { describe, expect, it } from '@jest/globals';
import { consoleEnabled } from '../../local/service.js';

describe('the ops console by default', () => {
  it('is on when the service answers this machine only', () => {
    for (const host of [undefined, '127.0.0.1', 'localhost', '::1']) expect(consoleEnabled({ host })).toBe(true);
  });

  it('is off on any other host unless asked for, as with npm start', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20']) {
      expect(consoleEnabled({ host })).toBe(false);
      expect(consoleEnabled({ host, console: {} })).toBe(false);
      expect(consoleEnabled({ host, console: { enabled: true } })).toBe(true);
    }
    expect(consoleEnabled({ host: '127.0.0.1', console: { enabled: false } })).toBe(false);
  });
});
