/** Logs are readable lines on a terminal and JSON for programs, from the same Powertools entries. */
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { logFormat } from '../../local/log-format.js';
import { readableLine, TerminalLogger } from '../../local/terminal-logger.js';

describe('LOG_FORMAT', () => {
  it('is text on a terminal and json otherwise, unless set', () => {
    expect([logFormat(undefined, true), logFormat(undefined, false), logFormat('', true)]).toEqual([
      'text',
      'json',
      'text',
    ]);
    expect([logFormat('json', true), logFormat('text', false)]).toEqual(['json', 'text']);
    expect(() => logFormat('yaml', true)).toThrow('LOG_FORMAT must be text or json, not yaml');
  });
});

describe('a readable line', () => {
  it('puts time, level and message first, then each other key, quoting only what needs it', () => {
    expect(
      readableLine({
        level: 'ERROR',
        message: 'request failed',
        timestamp: '2026-12-07T10:11:12.345Z',
        service: 'order-intake',
        requestId: 'abc-1',
        status: 500,
        cause: 'Validate failed (fault switch validate)',
      }),
    ).toBe(
      '10:11:12.345 ERROR request failed requestId=abc-1 status=500 cause="Validate failed (fault switch validate)"',
    );
  });
});

describe('TerminalLogger', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('prints one line per entry, warnings and errors on stderr, and its children print the same way', () => {
    const out: string[] = [];
    const err: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => out.push(String(chunk)) > 0);
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => err.push(String(chunk)) > 0);
    const logger = new TerminalLogger({ serviceName: 'order-intake', logLevel: 'INFO' });

    logger.info('request', { status: 202 });
    logger.createChild({ persistentKeys: { component: 'local-events' } }).error('stream relay failing');

    expect(out).toEqual([expect.stringMatching(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}request status=202\n$/)]);
    expect(err).toEqual([expect.stringMatching(/ERROR stream relay failing component=local-events\n$/)]);
  });
});
