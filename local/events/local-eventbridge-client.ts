/**
 * An EventBridge client whose PutEvents goes to the local bus. It is a real EventBridgeClient, so the outbox
 * relay's own adapter (lambdas/publish) runs unchanged: a middleware at the first step answers the command before
 * anything would be signed or sent.
 */
import {
  EventBridgeClient,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
} from '@aws-sdk/client-eventbridge';
import type { PutEventsEntry } from '../../src/events/order-accepted.js';
import type { EventBusPort } from '../workflow/task-integrations.js';
import { LocalEventsError } from './errors.js';

export function localEventBridgeClient(bus: EventBusPort): EventBridgeClient {
  const client = new EventBridgeClient({
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  client.middlewareStack.add(
    (_next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') {
        throw new LocalEventsError(`the local event bus implements PutEvents only, not ${context.commandName}`);
      }
      const { Entries = [] } = args.input as PutEventsCommandInput;
      const result = await bus.putEvents(Entries as PutEventsEntry[]);
      const output: PutEventsCommandOutput = { ...result, $metadata: { httpStatusCode: 200 } };
      return { output, response: {} };
    },
    { step: 'initialize', name: 'localEventBus', priority: 'high' },
  );
  return client;
}
