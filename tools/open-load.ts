/**
 * An open-model load: requests start at a constant rate whatever the answers do, and each latency is measured from
 * the moment its request was due, not from when it was sent. A slow answer therefore counts for the requests that
 * would have queued behind it, which a closed loop hides (coordinated omission).
 */
import type { ApiFetch } from './signed-fetch.js';

export interface OpenLoadOptions {
  api: ApiFetch;
  /** Requests per second. */
  rate: number;
  durationSeconds: number;
  /** A new order body per request, so that each is an order rather than a duplicate. */
  body: (index: number) => string;
  /** Headers of a request beyond its Content-Type, such as an Idempotency-Key. */
  headers?: (index: number) => Record<string, string>;
  /** Called once a second with the last second's figures. */
  progress?: (second: ProgressLine) => void;
}

export interface ProgressLine {
  second: number;
  sent: number;
  answered: number;
  inFlight: number;
  statuses: Record<string, number>;
}

/** What a load run measured, as the bench and the load test both report it. */
export interface LoadFigures {
  /** Requests per second asked for (open model). */
  offered?: number;
  achieved: number;
  requests: number;
  seconds: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
}

/** A row of a printed table: each figure under a heading that says its unit. */
export function tableRow({ offered, achieved, requests, seconds, p50, p95, p99, max, statuses }: LoadFigures) {
  return {
    'offered (req/s)': offered ?? '',
    'achieved (req/s)': achieved,
    'requests (count)': requests,
    'duration (s)': seconds,
    'p50 (ms)': p50,
    'p95 (ms)': p95,
    'p99 (ms)': p99,
    'max (ms)': max,
    'statuses (count)': JSON.stringify(statuses),
  };
}

export interface OpenLoadResult extends LoadFigures {
  offered: number;
  /** The orderId of every 202, for the readback. */
  accepted: string[];
  /** How many 202s were an Idempotency-Key's earlier acceptance replayed (`Idempotent-Replayed: true`). */
  replayed: number;
  /** The body of every 5xx but 503 (the contract's "retry"): each names its request, whose execution can be read. */
  problems: string[];
}

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN);

/** p50, p95, p99 and max of a run's latencies, in whole milliseconds. */
export function latencyFigures(latencies: readonly number[]): { p50: number; p95: number; p99: number; max: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50: Math.round(percentile(sorted, 50)),
    p95: Math.round(percentile(sorted, 95)),
    p99: Math.round(percentile(sorted, 99)),
    max: Math.round(sorted.at(-1) ?? NaN),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((wake) => setTimeout(wake, ms));

export async function runOpenLoad({
  api,
  rate,
  durationSeconds,
  body,
  headers = () => ({}),
  progress,
}: OpenLoadOptions): Promise<OpenLoadResult> {
  const total = Math.round(rate * durationSeconds);
  const intervalMs = 1000 / rate;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const accepted: string[] = [];
  const problems: string[] = [];
  let replayed = 0;
  let second: Record<string, number> = {};
  let sent = 0;
  let answered = 0;
  const start = performance.now();

  const send = async (index: number, due: number): Promise<void> => {
    let status: string;
    try {
      const response = await api('/orders', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers(index) },
        body: Buffer.from(body(index), 'utf8'),
      });
      status = String(response.status);
      const text = await response.text();
      if (response.status === 202) accepted.push((JSON.parse(text) as { orderId: string }).orderId);
      if (response.status === 202 && response.headers.get('idempotent-replayed') === 'true') replayed += 1;
      if (response.status >= 500 && response.status !== 503) problems.push(text);
    } catch (error) {
      status = error instanceof Error ? error.name : 'Error';
    }
    latencies.push(performance.now() - due);
    statuses[status] = (statuses[status] ?? 0) + 1;
    second[status] = (second[status] ?? 0) + 1;
    answered += 1;
  };

  const ticker = setInterval(() => {
    progress?.({
      second: Math.round((performance.now() - start) / 1000),
      sent,
      answered,
      inFlight: sent - answered,
      statuses: second,
    });
    second = {};
  }, 1000);
  const requests: Promise<void>[] = [];
  try {
    for (let index = 0; index < total; index += 1) {
      const due = start + index * intervalMs;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      sent += 1;
      requests.push(send(index, due));
    }
    await Promise.all(requests);
  } finally {
    clearInterval(ticker);
  }
  const seconds = (performance.now() - start) / 1000;
  return {
    offered: rate,
    achieved: Math.round((answered / seconds) * 10) / 10,
    requests: answered,
    seconds: Number(seconds.toFixed(1)),
    ...latencyFigures(latencies),
    statuses,
    accepted,
    replayed,
    problems,
  };
}

/** Reads back each accepted order, a few at a time: how many GET /orders/{orderId} answered 200. */
export async function readBack(api: ApiFetch, orderIds: readonly string[], concurrency = 16): Promise<string[]> {
  const missing: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < orderIds.length) {
      const orderId = orderIds[next++] as string;
      const response = await api(`/orders/${orderId}`).catch(() => undefined);
      if (response?.status !== 200) missing.push(orderId);
      await response?.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return missing;
}
