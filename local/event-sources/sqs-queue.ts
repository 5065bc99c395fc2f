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
import { pause } from '../waiting.js';

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

/** The function did not answer within its timeout; Lambda's own message. */
class FunctionTimedOut extends Error {
  constructor(timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'FunctionTimedOut';
  }
}

/** The invocation's answer, or an error once the function's timeout has passed or the runtime stops. */
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
      reject(new FunctionTimedOut(timeoutMs));
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

/** Resolves once `call` has settled, `ms` have passed or `signal` aborts, whichever comes first. */
async function settledWithin(call: Promise<unknown>, ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const over = new AbortController();
  const end = (): void => over.abort();
  signal.addEventListener('abort', end, { once: true });
  call.then(end, end);
  await pause(ms, over.signal);
  signal.removeEventListener('abort', end);
}

export interface SqsQueueTargetOptions {
  /** The function's timeout, as the stack deploys it: a batch not answered within it fails whole, as in Lambda. */
  timeoutSeconds: number;
  /** The queue's, as the stack deploys it: how long a timed-out batch stays out of reach of the next invocation. */
  visibilityTimeoutSeconds: number;
  /** Names the consumer in the handler's context; default `<queueName>-consumer`. */
  functionName?: string;
}

export function sqsQueueTarget(queueName: string, handler: SqsHandler, options: SqsQueueTargetOptions): RuleTarget {
  const queueArn = localArn('sqs', queueName);
  const functionName = options.functionName ?? `${queueName}-consumer`;
  const timeoutMs = options.timeoutSeconds * 1000;
  /**
   * A call past its timeout. No local process can end it as Lambda does, so it runs on, unheard. Lambda would have
   * ended it long before the queue's visibility timeout hands its batch out again; here the next batch waits until
   * it has ended, or until the visibility timeout has passed, so that a slow handler never overlaps itself.
   */
  let abandoned: { call: Promise<unknown>; at: number } | undefined;
  return {
    async deliver(events, { signal }) {
      if (abandoned) {
        const visibleAgainInMs = abandoned.at + options.visibilityTimeoutSeconds * 1000 - Date.now();
        await settledWithin(abandoned.call, Math.max(0, visibleAgainInMs), signal);
        abandoned = undefined;
      }
      if (signal.aborted) throw new Error('the runtime stopped before the function was invoked');
      const records = events.map((event) => sqsRecordOf(event, queueArn));
      const started = Date.now();
      const invocation = Promise.resolve().then(async () =>
        handler({ Records: records }, lambdaContext(functionName, timeoutMs)),
      );
      try {
        const answer = await answerWithin(invocation, timeoutMs, signal);
        return { failedEventIds: (answer?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier) };
      } catch (error) {
        if (error instanceof FunctionTimedOut) abandoned = { call: invocation, at: started };
        throw error;
      }
    },
  };
}
