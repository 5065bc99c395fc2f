/**
 * The import boundaries eslint.config.js enforces: each deliberate violation below must fail `npm run lint` (the
 * project's own ESLint configuration, run on the text as if it were a file at that path), and the same file without
 * the forbidden import must pass, so that the rule is neither missing nor refusing everything.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

interface Fixture {
  /** Where the file would live: the configuration picks its rules by path. */
  path: string;
  source: string;
}

/** ESLint's API in a child process (Jest's module sandbox would load the configuration apart from the project). */
const LINT_ALL = `
  import { ESLint } from 'eslint';
  const fixtures = JSON.parse(process.argv[1]);
  const eslint = new ESLint();
  const messages = [];
  for (const { path, source } of fixtures) {
    const [result] = await eslint.lintText(source, { filePath: path });
    messages.push(result.messages.map((message) => message.ruleId + ': ' + message.message));
  }
  process.stdout.write(JSON.stringify(messages));
`;

async function lint(fixtures: Fixture[]): Promise<string[][]> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', LINT_ALL, JSON.stringify(fixtures)],
    { cwd: process.cwd() },
  );
  return JSON.parse(stdout) as string[][];
}

const violations: (Fixture & { forbidden: RegExp })[] = [
  {
    path: 'src/events/violation.ts',
    source: "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nexport const client = DynamoDBClient;\n",
    forbidden: /no AWS SDK/,
  },
  {
    path: 'src/events/violation.ts',
    source: "import { LOCAL_REGION } from '../../local/local-account.js';\nexport const region = LOCAL_REGION;\n",
    forbidden: /neither local\/ nor cdk\//,
  },
  {
    path: 'src/violation.ts',
    source:
      "import { DEFAULT_FUNCTION_TIMEOUT } from '../cdk/lib/node-function.js';\nexport const timeout = DEFAULT_FUNCTION_TIMEOUT;\n",
    forbidden: /neither local\/ nor cdk\//,
  },
  {
    path: 'src/violation.ts',
    source: "import type { Stack } from 'aws-cdk-lib';\nexport type Deployed = Stack;\n",
    forbidden: /no CDK/,
  },
  {
    path: 'cdk/lib/violation.ts',
    source: "import { LOCAL_REGION } from '../../local/local-account.js';\nexport const region = LOCAL_REGION;\n",
    forbidden: /nothing of the local runtime/,
  },
  {
    path: 'lambdas/validate/violation.ts',
    source: "import { FAULTS } from '../../local/faults.js';\nexport const faults = FAULTS;\n",
    forbidden: /nothing of the local runtime/,
  },
];

const allowed: Fixture[] = [
  {
    path: 'src/events/allowed.ts',
    source: "import { isObject } from '../json-value.js';\nexport const is = isObject;\n",
  },
  {
    path: 'lambdas/validate/allowed.ts',
    source:
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { isObject } from '../../src/json-value.js';\n" +
      'export const both = [DynamoDBClient, isObject] as const;\n',
  },
  {
    path: 'local/allowed.ts',
    source:
      "import { DEFAULT_FUNCTION_TIMEOUT } from '../cdk/lib/node-function.js';\nexport const t = DEFAULT_FUNCTION_TIMEOUT;\n",
  },
];

describe('import boundaries (eslint no-restricted-imports)', () => {
  it('fails lint on each forbidden import and passes the allowed ones', async () => {
    const messages = await lint([...violations, ...allowed]);
    violations.forEach(({ path, forbidden }, index) => {
      expect({ path, messages: messages[index] }).toEqual({
        path,
        messages: [expect.stringMatching(new RegExp(`^no-restricted-imports: .*${forbidden.source}`))],
      });
    });
    allowed.forEach(({ path }, index) => {
      expect({ path, messages: messages[violations.length + index] }).toEqual({ path, messages: [] });
    });
  }, 120_000);
});
