/**
 * A rule target as the stack wires each consumer: rule -> SQS queue -> the consumer's function. Each event becomes
 * one SQS record whose body is the event envelope, and the real handler runs on the batch; its batch item failures
 * go back to the rule's delivery loop, which retries them and dead-letters what keeps failing, as the queue's
 * redrive policy would.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { EventEnvelope } from '../eventbridge/local-event-bus.js';
import type { RuleTarget } from '../eventbridge/rule-delivery.js';
import { localArn } from '../local-account.js';

/**
 * A Lambda handler subscribed to an SQS queue. It reports partial batch failures, or answers nothing when it took the
 * whole batch; throwing fails the whole batch.
 */
// void, as aws-lambda's SQSHandler has it: `async (event) => { ... }` is a handler that took the whole batch.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type SqsHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse | void>;

/** What a handler may read of its invocation: names and a deadline, as Lambda's context gives them. */
const lambdaContext = (functionName: string, timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  const fail = (): never => {
    throw new Error('the callback-style context methods are not emulated locally; return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: localArn('lambda', `function:${functionName}`),
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: fail,
    fail,
    succeed: fail,
  };
};

/**
 * The invocation's answer, or an error once the function's timeout has passed (Lambda's own message) or the runtime
 * stops. No local process can freeze an invocation as Lambda does: a timed-out one runs on, unheard, while its batch
 * is delivered again, which an idempotent consumer takes as the duplicate it is.
 */
function answerWithin<T>(invocation: Promise<T>, timeoutMs: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
    };
    const onStop = (): void => {
      settle();
      reject(new Error('the runtime stopped before the function answered'));
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`));
    }, timeoutMs);
    if (signal.aborted) onStop();
    else signal.addEventListener('abort', onStop, { once: true });
    invocation.then(
      (answer) => {
        settle();
        resolve(answer);
      },
      (error: unknown) => {
        settle();
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** SQS gives a message its own id; reusing the event id keeps failures traceable to events without a map. */
const sqsRecordOf = (envelope: EventEnvelope, queueArn: string): SQSRecord => {
  const now = String(Date.now());
  return {
    messageId: envelope.id,
    receiptHandle: envelope.id,
    body: JSON.stringify(envelope),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'events.amazonaws.com',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: envelope.region,
  };
};

export interface SqsQueueTargetOptions {
  /** The function's timeout, as the stack deploys it: a batch not answered within it fails whole, as in Lambda. */
  timeoutSeconds: number;
  /** Names the consumer in the handler's context; default `<queueName>-consumer`. */
  functionName?: string;
}

export function sqsQueueTarget(queueName: string, handler: SqsHandler, options: SqsQueueTargetOptions): RuleTarget {
  const queueArn = localArn('sqs', queueName);
  const functionName = options.functionName ?? `${queueName}-consumer`;
  const timeoutMs = options.timeoutSeconds * 1000;
  return {
    async deliver(events, { signal }) {
      const records = events.map((event) => sqsRecordOf(event, queueArn));
      const invocation = Promise.resolve().then(async () =>
        handler({ Records: records }, lambdaContext(functionName, timeoutMs)),
      );
      const answer = await answerWithin(invocation, timeoutMs, signal);
      return { failedEventIds: (answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier) };
    },
  };
}
