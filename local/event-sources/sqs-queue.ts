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
const LOCAL_FUNCTION_TIMEOUT_MS = 30_000;
const lambdaContext = (functionName: string): Context => {
  const deadline = Date.now() + LOCAL_FUNCTION_TIMEOUT_MS;
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

/** `functionName` names the consumer in the handler's context; by default `<queueName>-consumer`. */
export function sqsQueueTarget(
  queueName: string,
  handler: SqsHandler,
  functionName = `${queueName}-consumer`,
): RuleTarget {
  const queueArn = localArn('sqs', queueName);
  return {
    async deliver(events) {
      const records = events.map((event) => sqsRecordOf(event, queueArn));
      const answer = await handler({ Records: records }, lambdaContext(functionName));
      return { failedEventIds: (answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier) };
    },
  };
}
