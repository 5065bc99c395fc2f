/**
 * A rule target as an EventBridge API destination calls an HTTP endpoint: one POST per event, the event envelope as
 * the JSON body. A 2xx answer is delivered. Like API destinations, a 401, 407, 409, 429 or 5xx answer, no answer
 * within the timeout (5 s, as API destinations') or no connection is retried; any other answer (3xx, the other 4xx)
 * is refused for good and dead-lettered without a retry. Redirects are not followed.
 */
import type { DeliveryResult, RuleTarget } from './rule-delivery.js';

/** API destinations' client execution timeout. */
export const API_DESTINATION_TIMEOUT_MS = 5_000;

/** The statuses API destinations retry besides 5xx. */
const RETRIED_STATUSES = new Set([401, 407, 409, 429]);

export interface ApiDestinationOptions {
  /** The endpoint, http or https. */
  url: string;
  /** How long an answer may take; default API_DESTINATION_TIMEOUT_MS. */
  timeoutMs?: number;
}

type Answer = { outcome: 'delivered' | 'failed' | 'rejected'; detail: string };

const messageOf = (error: unknown): string | undefined =>
  typeof error === 'object' && error !== null && 'message' in error && String(error.message) !== ''
    ? `${'name' in error ? String(error.name) : 'Error'}: ${String(error.message)}`
    : undefined;

/**
 * Why fetch failed: its error's `cause` (ECONNREFUSED, ...) when that says something. Read by shape, since the error
 * may come from another realm. fetch answers a 407 this way too (the fetch standard makes it a network error).
 */
const networkError = (error: unknown): string => {
  const cause = typeof error === 'object' && error !== null && 'cause' in error ? error.cause : undefined;
  return messageOf(cause) ?? messageOf(error) ?? String(error);
};

/** How much of a failed answer's body an attempt keeps. */
export const ANSWER_KEPT_BYTES = 1024;

/** The first ANSWER_KEPT_BYTES of an answer's body, as text (the rest is not read; the connection is freed). */
async function answerStart(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let kept = 0;
  try {
    while (kept < ANSWER_KEPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      kept += value.byteLength;
    }
  } catch {
    // A body cut short: what arrived is what it said.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = Buffer.concat(chunks).subarray(0, ANSWER_KEPT_BYTES);
  const truncated = kept > ANSWER_KEPT_BYTES ? ' …(cut at 1 KB)' : '';
  return `${bytes.toString('utf8').trim()}${truncated}`;
}

export function apiDestinationTarget({
  url,
  timeoutMs = API_DESTINATION_TIMEOUT_MS,
}: ApiDestinationOptions): RuleTarget {
  const post = async (body: string, stop: AbortSignal): Promise<Answer> => {
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Amazon/EventBridge/ApiDestinations' },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([timeout, stop]),
      });
      if (response.status >= 200 && response.status < 300) {
        // A success's body is not read; dropping it frees the connection.
        await response.body?.cancel();
        return { outcome: 'delivered', detail: `HTTP ${response.status}` };
      }
      // What the target said, for whoever reads the attempt or the dead letter: its status and the start of its answer.
      const said = await answerStart(response);
      const detail = `HTTP ${response.status}${said ? `: ${said}` : ''}`;
      if (response.status >= 500 || RETRIED_STATUSES.has(response.status)) return { outcome: 'failed', detail };
      return { outcome: 'rejected', detail };
    } catch (error) {
      if (timeout.aborted) return { outcome: 'failed', detail: `no answer within ${timeoutMs} ms` };
      if (stop.aborted) return { outcome: 'failed', detail: 'stopped before an answer' };
      return { outcome: 'failed', detail: networkError(error) };
    }
  };

  return {
    async deliver(events, { signal }): Promise<DeliveryResult> {
      const answers = await Promise.all(events.map((event) => post(JSON.stringify(event), signal)));
      const result = {
        failedEventIds: [] as string[],
        rejectedEventIds: [] as string[],
        details: {} as Record<string, string>,
      };
      events.forEach((event, index) => {
        const answer = answers[index] as Answer;
        result.details[event.id] = answer.detail;
        if (answer.outcome === 'failed') result.failedEventIds.push(event.id);
        if (answer.outcome === 'rejected') result.rejectedEventIds.push(event.id);
      });
      return result;
    },
  };
}
