/**
 * An EventBridge client whose PutEvents goes to the local bus. It is a real EventBridgeClient, so the outbox
 * relay's own adapter (lambdas/publish) runs unchanged: a middleware at the first step authorizes the call against
 * the caller's deployed role and answers it before anything would be signed or sent.
 */
import {
  EventBridgeClient,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import type { EventPublisher, PutEventsEntry } from '../../src/events/event-publisher.js';
import { eventBusArn } from '../iam/deployed-roles.js';
import type { RoleAuthorizer } from '../iam/role-authorizer.js';
import { eventBridgeAccessDenied } from '../stepfunctions/task-integrations.js';
import { LocalEventsError } from './errors.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local-account.js';

export function localEventBridgeClient(bus: EventPublisher, iam: RoleAuthorizer): EventBridgeClient {
  const client = new EventBridgeClient({
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') {
        throw new LocalEventsError(`the local event bus implements PutEvents only, not ${context.commandName}`);
      }
      const { Entries = [] } = args.input as PutEventsCommandInput;
      await iam.authorizeAs(
        Entries.map((entry) => ({
          action: 'events:PutEvents',
          resource: eventBusArn(entry.EventBusName ?? 'default'),
        })),
        eventBridgeAccessDenied,
      );
      const result = await bus.putEvents(Entries as PutEventsEntry[]);
      const output: PutEventsCommandOutput = { ...result, $metadata: { httpStatusCode: 200 } };
      return { output, response: {} };
    },
    { step: 'initialize', name: 'localEventBus', priority: 'high' },
  );
  return client;
}
