/**
 * ORDER_INTAKE_STARTUP_TRACE=1: each step of a start is written to stderr as `startup-trace <epoch ms> <step>`, in
 * wall-clock milliseconds so that a launcher can line them up with its own spawn (see docs/local.md).
 */
const tracing = process.env.ORDER_INTAKE_STARTUP_TRACE === '1';

export function traceStartup(step: string, at = performance.now()): void {
  if (tracing) process.stderr.write(`startup-trace ${(performance.timeOrigin + at).toFixed(1)} ${step}\n`);
}

traceStartup('node started', 0);
traceStartup('node bootstrapped', performance.nodeTiming.bootstrapComplete);
traceStartup('first module evaluated');
