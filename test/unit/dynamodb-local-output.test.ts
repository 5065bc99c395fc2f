import { describe, expect, it } from '@jest/globals';
import { isStartupNoise } from '../../local/dynamodb/dynamodb-local.js';

describe('what DynamoDB Local prints to the terminal', () => {
  it('drops the JAXB start-up warning, both of its lines', () => {
    expect(isStartupNoise('Dec 01, 2026 1:04:07 PM com.amazonaws.log.JulLog warn')).toBe(true);
    expect(
      isStartupNoise('WARNING: JAXB is unavailable. Will fallback to SDK implementation which may be less performant.'),
    ).toBe(true);
  });

  it.each([
    'Exception in thread "main" java.io.IOException: Failed to bind to 0.0.0.0/0.0.0.0:8000',
    'Caused by: java.net.BindException: Address already in use',
    'SEVERE: [sqlite] SQLiteQueue[shared-local-instance.db]: error running job queue',
    'Error: Could not find or load main class com.amazonaws.services.dynamodbv2.local.main.ServerRunner',
    'Dec 01, 2026 1:04:07 PM com.amazonaws.log.JulLog error',
  ])('keeps a real error visible: %s', (line) => {
    expect(isStartupNoise(line)).toBe(false);
  });
});
