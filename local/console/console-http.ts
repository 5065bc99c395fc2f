/**
 * The ops console on the service's node:http server: requests under /console are answered here, before the API
 * Gateway emulation sees them (the console is no part of the API; AWS has no such route), and are not recorded as
 * API exchanges. /console/live is the live list: Server-Sent Events, one `execution` event per execution recorded.
 * Recording tells the console synchronously, on the API's request path, so the events are sent a turn later, in
 * one batch per turn of the event loop.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { headerMap, type LocalRoutes } from '../apigateway/server.js';
import { CONSOLE_PATH, matchesFilter, SECURITY_HEADERS, type OpsConsole } from './console-routes.js';
import type { ExecutionFilter, ExecutionSummary } from './console-store.js';
import { rowLink } from './pages.js';
import { errorMessage } from '../../src/json-value.js';

const LIVE_PATH = `${CONSOLE_PATH}/live`;
const HEARTBEAT_MS = 15_000;

/**
 * A live list is one open connection per console tab, so a few dozen are plenty; past that a new one is refused
 * (503, the browser's EventSource retries). A stream whose reader does not keep up (its unsent bytes past
 * `maxBufferedBytes`, once the socket's own buffers are full) is dropped rather than buffered without end; a real
 * tab reconnects and reloads the list.
 */
export interface LiveLimits {
  maxStreams: number;
  maxBufferedBytes: number;
}
export const LIVE_LIMITS: LiveLimits = { maxStreams: 32, maxBufferedBytes: 256 * 1024 };

const headersOf = (request: IncomingMessage): Record<string, string> => {
  const headers = headerMap();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
};

export function consoleRoutes(opsConsole: OpsConsole, limits: LiveLimits = LIVE_LIMITS): LocalRoutes {
  const streams = new Map<ServerResponse, ExecutionFilter>();
  const send = (stream: ServerResponse, text: string): void => {
    stream.write(text);
    if (stream.writableLength > limits.maxBufferedBytes) stream.destroy();
  };
  let pending: ExecutionSummary[] = [];
  const broadcast = (): void => {
    const summaries = pending;
    pending = [];
    for (const [stream, filter] of streams) {
      const lines = summaries
        .filter((summary) => matchesFilter(summary, filter))
        .map((summary) => `event: execution\ndata: ${JSON.stringify({ ...summary, link: rowLink(summary) })}\n\n`);
      if (lines.length > 0) send(stream, lines.join(''));
    }
  };
  let unsubscribe: (() => void) | undefined;
  const listen = (): void => {
    unsubscribe ??= opsConsole.onExecution((summary) => {
      if (pending.push(summary) === 1) setImmediate(broadcast);
    });
  };
  const heartbeat = setInterval(() => {
    for (const stream of streams.keys()) send(stream, ': keep-alive\n\n');
  }, HEARTBEAT_MS);
  heartbeat.unref();

  function live(filter: ExecutionFilter, response: ServerResponse): void {
    if (streams.size >= limits.maxStreams) {
      const body = `At most ${limits.maxStreams} live lists are open at once; close a console tab, or wait.`;
      response.writeHead(503, {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/plain; charset=utf-8',
        'Retry-After': '10',
      });
      response.end(body);
      return;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      Connection: 'keep-alive',
    });
    response.write('retry: 2000\n: live\n\n');
    streams.set(response, filter);
    listen();
    // The response's close, not the request's: a request is closed as soon as its (empty) body is read.
    response.once('close', () => {
      streams.delete(response);
      if (streams.size === 0) {
        unsubscribe?.();
        unsubscribe = undefined;
      }
    });
  }

  return {
    serve(request, response) {
      const url = new URL(request.url ?? '/', 'http://localhost');
      if (url.pathname !== CONSOLE_PATH && !url.pathname.startsWith(`${CONSOLE_PATH}/`)) return false;
      // Forms post nothing the console reads: the body is drained, not kept.
      request.resume();
      const consoleRequest = {
        method: request.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: headersOf(request),
        port: request.socket.localPort ?? 0,
      };
      const asked =
        url.pathname === LIVE_PATH && consoleRequest.method === 'GET' && opsConsole.liveFilter(consoleRequest);
      if (asked && 'filter' in asked) {
        live(asked.filter, response);
        return true;
      }
      (asked ? Promise.resolve(asked.refused) : opsConsole.handle(consoleRequest)).then(
        (answer) => {
          const body = Buffer.from(answer.body, 'utf8');
          response.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(body.byteLength) });
          response.end(consoleRequest.method === 'HEAD' ? undefined : body);
        },
        (error: unknown) => {
          if (response.headersSent) return response.destroy();
          const body = `console error: ${errorMessage(error)}`;
          response.writeHead(500, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
          response.end(body);
        },
      );
      return true;
    },
    close() {
      clearInterval(heartbeat);
      unsubscribe?.();
      for (const stream of streams.keys()) stream.end();
      streams.clear();
    },
  };
}
