import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The import boundaries the design keeps (README, "Layout"): domain code in src/ runs in any Lambda and in tests
  // without AWS, so it imports no AWS SDK and neither the stack nor the local runtime; the stack and the Lambdas
  // ship to AWS, so they import nothing of the local runtime. test/unit/import-boundaries.test.ts proves each fails.
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@aws-sdk/*', '@smithy/*', 'aws-sdk'], message: 'src/ is domain code: no AWS SDK.' },
            { group: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'], message: 'src/ is domain code: no CDK.' },
            { regex: '^(\\.\\./)+(local|cdk)(/|$)', message: 'src/ imports neither local/ nor cdk/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['cdk/**/*.ts', 'lambdas/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+local(/|$)',
              message: 'cdk/ and lambdas/ ship to AWS: they import nothing of the local runtime (local/).',
            },
          ],
        },
      ],
    },
  },
  {
    // The ops console's browser script, served as it is.
    files: ['local/console/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { document: 'readonly', EventSource: 'readonly' },
    },
  },
  prettier,
);
