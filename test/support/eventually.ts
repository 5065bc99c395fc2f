/** How long to wait for a condition, and how often to look. */
export interface Polling {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Default 10 ms; longer where each look is costly (a process list, a folder scan). */
  intervalMs?: number;
}

/** Polls until `condition` holds; `false` if it still does not by the deadline. */
export async function pollUntil(
  condition: () => boolean | Promise<boolean>,
  { timeoutMs = 10_000, intervalMs = 10 }: Polling = {},
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((wake) => setTimeout(wake, intervalMs));
  }
  return true;
}

/** Polls until `condition` holds; fails naming `what` after the deadline. */
export async function eventually(
  what: string,
  condition: () => boolean | Promise<boolean>,
  polling: Polling = {},
): Promise<void> {
  if (!(await pollUntil(condition, polling))) {
    throw new Error(`not before the deadline (${polling.timeoutMs ?? 10_000} ms): ${what}`);
  }
}
