/**
 * An SDK client for a tool that calls AWS, made with the default credential chain, both it and a Region resolved up
 * front so that a missing one is said in a plain sentence (exit code 2 in every tool) rather than as the SDK's error
 * at the first call.
 */
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { MissingCredentialsError } from './signed-fetch.js';

interface RegionalClient {
  config: { region: () => Promise<string> };
}

/** `why` ends the sentence "No AWS credentials found by the default chain (...): " with what the tool needs them for. */
export async function awsClient<C extends RegionalClient>(
  make: (settings: { credentials: ReturnType<typeof fromNodeProviderChain>; region?: string }) => C,
  why: string,
  region: string | undefined,
): Promise<C> {
  const credentials = fromNodeProviderChain();
  try {
    await credentials();
  } catch {
    throw new MissingCredentialsError(
      'No AWS credentials found by the default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, SSO, ' +
        `instance or container roles): ${why}.`,
    );
  }
  const client = make({ credentials, ...(region && { region }) });
  try {
    await client.config.region();
  } catch {
    throw new MissingCredentialsError('No AWS Region: set AWS_REGION, a region in your profile, or pass --region.');
  }
  return client;
}
