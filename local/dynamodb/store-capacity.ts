/**
 * DynamoDB throttles work past its capacity (ThrottlingException, HTTP 400); DynamoDB Local has no capacity model
 * and queues every call instead. Past its ceiling (a few hundred transactions a second on disk) its latency then
 * grows without bound: the workflow's 2 s task timeouts fire on calls that still run, their retries add to the
 * queue, and every answer becomes a 503 long after the burst (a burst of 1,000 orders at once answered 975 of them
 * 503 after ten tries each). This gate gives the local store a capacity: at most `maxInFlight` calls run at once,
 * a call waits at most `maxWaitMs` for its turn, and one that cannot get it is throttled as DynamoDB would throttle
 * it, which the workflow retries with backoff and answers 503 if it must.
 */
import { DynamoDBServiceException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

export interface StoreCapacity {
  /** Calls DynamoDB Local serves at once; more only queue inside it. */
  maxInFlight: number;
  /** How long a call may wait for a turn before it is throttled. */
  maxWaitMs: number;
}

/** Measured on 2 cores: DynamoDB Local's transaction rate on disk stops growing past a few dozen concurrent calls. */
export const DEFAULT_STORE_CAPACITY: StoreCapacity = { maxInFlight: 32, maxWaitMs: 1_000 };

/** The calls that do the store's work; control-plane calls (ListTables, DescribeTable) pass. */
const ITEM_COMMANDS = new Set([
  'GetItemCommand',
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'TransactGetItemsCommand',
  'QueryCommand',
  'ScanCommand',
]);

export function limitStoreCapacity(client: DynamoDBClient, capacity: StoreCapacity = DEFAULT_STORE_CAPACITY): void {
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else inFlight -= 1;
  };
  const acquire = (): Promise<boolean> => {
    if (inFlight < capacity.maxInFlight) {
      inFlight += 1;
      return Promise.resolve(true);
    }
    return new Promise((granted) => {
      const turn = (): void => {
        clearTimeout(timer);
        granted(true);
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(turn), 1);
        granted(false);
      }, capacity.maxWaitMs);
      waiting.push(turn);
    });
  };

  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!ITEM_COMMANDS.has(String(context.commandName))) return next(args);
      if (!(await acquire())) {
        throw new DynamoDBServiceException({
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
          message: `The local store is at capacity (${capacity.maxInFlight} calls at once); throttled as DynamoDB throttles.`,
        });
      }
      try {
        return await next(args);
      } finally {
        release();
      }
    },
    { step: 'initialize', name: 'localStoreCapacity' },
  );
}
