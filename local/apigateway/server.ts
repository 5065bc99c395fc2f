/**
 * The node:http front of the local API: buffers each request body (up to API Gateway's 10 MB; the contract's 1 KB
 * limit is the workflow's to enforce), gives every request a fresh UUID as its id, hands it to the API Gateway
 * emulation, writes the answer and a summary log line.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { problemResponse, withRequestIdHeaders, type ApiGateway, type ApiResponse } from './api-gateway.js';
import { hostNamesFor, refusesCrossSite, refusesHost, type HostNames } from '../browser-guard.js';
import { crossSiteRequestProblem, MAX_REQUEST_BODY_BYTES, requestTooLargeProblem } from './gateway-responses.js';
import { redactHeaders } from '../secrets.js';
import type { RequestLog } from './request-log.js';

/** One exchange as the client saw it: what it sent and what it was answered (for the ops console). */
export interface HttpExchange {
  requestId: string;
  startedAt: number;
  durationMs: number;
  method: string;
  path: string;
  /** Secrets redacted (local/secrets.ts): a recorded exchange is shown in a page. */
  requestHeaders: Record<string, string>;
  /** UTF-8, at most the first 64 KB: the contract's own limit is 1 KB. */
  requestBody: string;
  status: number;
  responseHeaders: Record<string, string>;
  responseBody: string;
}

const RECORDED_BODY_BYTES = 64 * 1024;

/** Routes the local server answers itself, before the API Gateway emulation (the ops console). */
export interface LocalRoutes {
  /** Answers the request if it is one of its own (true); false leaves it to the API. */
  serve(request: IncomingMessage, response: ServerResponse): boolean;
  /** Ends what it keeps open (live streams), so that the server can close. */
  close(): void;
}

export interface HttpServerOptions {
  gateway: ApiGateway;
  /** Served before the API; their requests are not API exchanges (neither logged as requests nor recorded). */
  localRoutes?: LocalRoutes;
  logger: Logger;
  requestLog: RequestLog;
  /** Told of every exchange once it is answered. */
  onExchange?: (exchange: HttpExchange) => void;
  /** 0 picks a free port. */
  port: number;
  host: string;
  /** The Host names the API answers to (local/browser-guard.ts); default: this machine's on a loopback `host`. */
  hostNames?: HostNames;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type BodyRead = { body: Buffer; byteLength: number; tooLarge: boolean };

/** Reads the whole body; past the cap it keeps counting (so the answer can say how large it was) but stops keeping. */
async function readBody(request: IncomingMessage): Promise<BodyRead> {
  const chunks: Buffer[] = [];
  let byteLength = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    byteLength += chunk.byteLength;
    if (byteLength <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
  }
  const tooLarge = byteLength > MAX_REQUEST_BODY_BYTES;
  return { body: tooLarge ? Buffer.alloc(0) : Buffer.concat(chunks, byteLength), byteLength, tooLarge };
}

/** Header names as the client sent them (API Gateway keeps their case); repeated headers joined with commas. */
function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const raw = request.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    headers[name] = name in headers ? `${headers[name]},${raw[i + 1]}` : (raw[i + 1] as string);
  }
  return headers;
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { gateway, logger, requestLog, onExchange } = options;
  const hostNames = options.hostNames ?? hostNamesFor(options.host);

  /** A page elsewhere's request is answered before its body is read, and neither run nor recorded. */
  function refuseCrossSite(request: IncomingMessage, response: ServerResponse, reason: string, started: number): void {
    const requestId = randomUUID();
    const answer = withRequestIdHeaders(problemResponse(crossSiteRequestProblem(reason, requestId)), requestId);
    const body = Buffer.from(answer.body, 'utf8');
    // Connection: close, so that the rest of an unread body is not read either.
    response.writeHead(answer.status, {
      ...answer.headers,
      'Content-Length': String(body.byteLength),
      Connection: 'close',
    });
    response.end(body);
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    requestLog.record({
      method: request.method ?? 'GET',
      path,
      status: answer.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      requestId,
    });
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const startedAt = Date.now();
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    const headers = headersOf(request);
    const site = { method, headers, port: request.socket.localPort ?? 0 };
    const refusal = refusesHost(site, hostNames) ?? refusesCrossSite(site, { names: hostNames, ownPagesOnly: false });
    if (refusal !== undefined) return refuseCrossSite(request, response, refusal, started);
    const requestId = randomUUID();
    let answer: ApiResponse;
    const read = await readBody(request);
    if (read.tooLarge) {
      answer = withRequestIdHeaders(problemResponse(requestTooLargeProblem(requestId)), requestId);
    } else {
      answer = await gateway.handle({
        requestId,
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: read.body,
      });
    }
    const body = Buffer.from(answer.body, 'utf8');
    response.writeHead(answer.status, { ...answer.headers, 'Content-Length': String(body.byteLength) });
    response.end(body);
    const durationMs = Math.round((performance.now() - started) * 10) / 10;
    requestLog.record({
      method,
      path: url.pathname,
      status: answer.status,
      durationMs,
      requestId,
      ...(answer.orderId ? { orderId: answer.orderId } : {}),
      ...(answer.failure ? { failure: answer.failure } : {}),
    });
    onExchange?.({
      requestId,
      startedAt,
      durationMs,
      method,
      path: url.pathname,
      requestHeaders: redactHeaders(headers),
      requestBody: read.body.subarray(0, RECORDED_BODY_BYTES).toString('utf8'),
      status: answer.status,
      responseHeaders: redactHeaders(answer.headers),
      responseBody: answer.body,
    });
  }

  const server = createServer((request, response) => {
    if (options.localRoutes?.serve(request, response)) return;
    serve(request, response).catch((error: unknown) => {
      // The client went away mid-request, or the socket failed: there is no one left to answer.
      logger.warn('request abandoned', { error });
      if (!response.headersSent) response.destroy();
    });
  });

  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(options.port, options.host, () => {
      server.off('error', failed);
      listening();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((closed, failed) => {
        options.localRoutes?.close();
        server.close((error) => (error ? failed(error) : closed()));
        // Keep-alive connections would hold close() open until they time out.
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      }),
  };
}
