/**
 * fetch against a deployed API, signed with SigV4 (service execute-api) from the default AWS credential chain when
 * the API requires IAM authorization, as the stack does by default (apiAuthorization=IAM).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

export type Auth = 'iam' | 'none';

const bytesOf = (data: SourceData): string | Buffer =>
  typeof data === 'string'
    ? data
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 for the signer, from node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export class MissingCredentialsError extends Error {
  override name = 'MissingCredentialsError';
}

/** execute-api.<region>.amazonaws.com names its Region; any other host needs --region. */
export const regionOf = (url: URL): string | undefined =>
  /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];

export interface SignedFetchOptions {
  auth: Auth;
  region?: string;
}

export type ApiFetch = (
  path: string,
  init?: { method?: string; headers?: Record<string, string>; body?: Buffer },
) => Promise<Response>;

/** A fetch for paths under `baseUrl`; with auth iam, credentials are resolved once, here, so a lack of them shows first. */
export async function signedFetch(baseUrl: string, { auth, region }: SignedFetchOptions): Promise<ApiFetch> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  // A path is the API's (under its base, the stage included); a whole URL, such as a resolved Location, is itself.
  const resolve = (path: string) => (/^https?:/.test(path) ? new URL(path) : new URL(path.replace(/^\//, ''), base));
  if (auth === 'none') {
    return (path, init = {}) => fetch(resolve(path), init);
  }
  const signingRegion = region ?? regionOf(base);
  if (!signingRegion) throw new MissingCredentialsError(`cannot tell the Region of ${base.host}: pass --region`);
  const provider = fromNodeProviderChain();
  try {
    await provider();
  } catch (error) {
    throw new MissingCredentialsError(
      'No AWS credentials found by the default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, ' +
        'instance or container roles). The API requires SigV4 (apiAuthorization=IAM, the default): sign in, for ' +
        'example with `aws sso login --profile <name>` and AWS_PROFILE=<name>, or pass --auth none for a stack ' +
        `deployed with apiAuthorization=NONE. (${(error as Error).message})`,
    );
  }
  const signer = new SignatureV4({
    credentials: provider,
    region: signingRegion,
    service: 'execute-api',
    sha256: Sha256,
  });
  return async (path, init = {}) => {
    const url = resolve(path);
    const signed = await signer.sign({
      method: init.method ?? 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...init.headers, host: url.host },
      body: init.body,
    });
    // fetch sets Host itself and refuses it as a header; it is signed all the same.
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== 'host'));
    return fetch(url, { method: signed.method, headers, body: init.body });
  };
}

/**
 * The API's fetch as a tool's flags ask for it: `--url`, and `--auth`, by default SigV4 for an execute-api URL (a
 * deployed API requires it unless deployed with apiAuthorization=NONE) and none otherwise (npm start). When it
 * cannot be had, the tool ends with exit 2 and a line saying why (its usage when `--url` is missing).
 */
export async function apiFetchOrExit(
  tool: string,
  usage: string,
  { url, auth: authFlag, region }: { url?: string; auth?: string; region?: string },
): Promise<{ api: ApiFetch; auth: Auth; url: string }> {
  const refuse = (line: string): never => {
    console.error(line);
    process.exit(2);
  };
  if (!url) return refuse(usage);
  const auth = authFlag ?? (regionOf(new URL(url)) ? 'iam' : 'none');
  if (auth !== 'iam' && auth !== 'none') return refuse(`--auth must be iam or none, not ${auth}`);
  try {
    return { api: await signedFetch(url, { auth, region }), auth, url };
  } catch (error) {
    if (!(error instanceof MissingCredentialsError)) throw error;
    return refuse(`${tool}: ${error.message}`);
  }
}
