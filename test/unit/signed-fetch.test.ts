/**
 * tools/signed-fetch.ts signs what it sends: with IAM auth every request carries a SigV4 Authorization for
 * execute-api in the API's Region, over the host, the date and the body's hash; without, nothing is added.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signedFetch } from '../../tools/signed-fetch.js';

const received: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
let server: Server;
let base: string;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push({ url: String(request.url), headers: request.headers, body });
      response.end('{}');
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`;
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
});
afterAll(async () => {
  process.env = saved;
  await new Promise((closed) => server.close(closed));
});

describe('signedFetch', () => {
  it('signs each request for execute-api in the Region, over host and date, and sends the body as given', async () => {
    const fetchPath = await signedFetch(base, { auth: 'iam', region: 'eu-west-1' });
    const body = Buffer.from('{"customerId":"CUST-7Q2K9M4X"}');
    await fetchPath('/orders', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    const { url, headers, body: sent } = received.at(-1) ?? { url: '', headers: {}, body: '' };
    expect(url).toBe('/v1/orders');
    expect(sent).toBe(body.toString());
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('adds nothing without IAM auth', async () => {
    const fetchPath = await signedFetch(base, { auth: 'none' });
    await fetchPath('/orders/1');

    expect(received.at(-1)?.headers.authorization).toBeUndefined();
  });
});
