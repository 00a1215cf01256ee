#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx tidemark` works after `npm ci`.
import { register } from 'tsx/esm/api';

// graphql-js checks every type test for duplicate module copies unless NODE_ENV is
// production (measured: the largest single cost of a 9,000-point dashboard answer).
// tidemark's own behaviour follows TIDEMARK_ENV, never NODE_ENV.
process.env.NODE_ENV ??= 'production';
register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
