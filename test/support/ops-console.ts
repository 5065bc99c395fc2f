/** The ops console as the console tests build it: over in-memory stores, a DynamoDB it never reaches, one rule. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DatabaseSync } from 'node:sqlite';
import { createOpsConsole, type OpsConsole, type OpsConsoleOptions } from '../../local/console/console-routes.js';
import type { ConsoleStore } from '../../local/console/console-store.js';

export function testOpsConsole(
  store: ConsoleStore,
  events: DatabaseSync,
  options: Partial<OpsConsoleOptions> & Pick<OpsConsoleOptions, 'archiveDir'>,
): OpsConsole {
  return createOpsConsole({
    store,
    events,
    dynamodb: new DynamoDBClient({ region: 'local' }),
    tableName: 'orders',
    definition: { StartAt: 'Validate', States: {} },
    redriveDeadLetter: async () => ({ outcome: 'not-found', detail: 'none' }),
    ruleNames: ['archive'],
    hosts: 'loopback',
    ...options,
  });
}
