import { tsImport } from 'tsx/esm/api';
import type keepSynthesis from './keep-synthesis.js';
import type * as Launcher from '../../local/dynamodb/dynamodb-local.js';

declare global {
  var dynamoDbLocal: Launcher.DynamoDbLocal | undefined;
}

/** One in-memory DynamoDB Local for the workflow project's run; each test file makes its own tables in it. */
export default async function globalSetup(): Promise<void> {
  // Jest loads global setup outside its module system, so its .js-to-.ts mapping does not apply; tsx resolves the
  // project's own imports as `npm start` does.
  const keep = (await tsImport('./keep-synthesis.ts', import.meta.url)) as { default: typeof keepSynthesis };
  await keep.default();
  const launcher = (await tsImport('../../local/dynamodb/dynamodb-local.ts', import.meta.url)) as typeof Launcher;
  globalThis.dynamoDbLocal = await launcher.startDynamoDbLocal();
  process.env.DYNAMODB_LOCAL_ENDPOINT = globalThis.dynamoDbLocal.endpoint;
}
