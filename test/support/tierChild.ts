// Runs one tiering pass in a child process and kills itself with SIGKILL at a chosen
// step boundary: the crash half of the exactly-once tests.
import { createLogger } from '../../core/logger.ts';
import { openDatabases } from '../../hot/database.ts';
import { runTierPass, type TierStep } from '../../tiering/tierPass.ts';
import { openTestEngine } from './coldEngine.ts';

const { TM_DB_URL, TM_DB_NAME, TM_LAKE, TM_WORK, TM_KILL_AT, TM_NOW } = process.env;
const dbs = openDatabases(
  { APP_DATABASE_URL: undefined, APP_DB_PASSWORD: 'tidemark_app' },
  TM_DB_URL!,
);
const { engine } = await openTestEngine({ name: TM_DB_NAME!, url: TM_DB_URL! }, TM_LAKE!);
let seen = 0;
await runTierPass(
  { pool: dbs.operator, engine, workDir: TM_WORK!, log: createLogger('silent') },
  {
    nowMs: Number(TM_NOW),
    onStep: (step: TierStep) => {
      // Die at the second occurrence, so some work of this pass is already committed.
      if (step === TM_KILL_AT && ++seen === 2) process.kill(process.pid, 'SIGKILL');
    },
  },
);
console.log('pass finished without reaching the kill step');
process.exit(0);
