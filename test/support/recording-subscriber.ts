/**
 * A local subscriber module as a team would write one: a Lambda handler behind an SQS queue. Named in a subscribers
 * file by the subscription tests; it keeps what it received where the test can read it.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export const received: SQSEvent[] = [];

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  received.push(event);
  return { batchItemFailures: [] };
}

export const notAFunction = 'handler';
