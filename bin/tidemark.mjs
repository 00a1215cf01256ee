#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx tidemark` works after `npm ci`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
await main(process.argv.slice(2));
