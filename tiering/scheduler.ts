// Periodic upkeep while tidemark runs: keep partitions ahead, then run a tiering pass.
import type { Logger } from '../core/logger.ts';
import { PartitionManager, addUtcDays, utcDay } from '../hot/partitions.ts';
import { runTierPass, type TierPassDeps, type TierPassResult } from './tierPass.ts';

export async function runUpkeep(deps: TierPassDeps, nowMs = Date.now()): Promise<TierPassResult> {
  await new PartitionManager(deps.pool).ensure(addUtcDays(utcDay(nowMs), -1), nowMs);
  return runTierPass(deps, { nowMs });
}

export function scheduleUpkeep(
  deps: TierPassDeps,
  intervalSeconds: number,
  log: Logger,
  options: { keepAlive?: boolean } = {},
): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const tick = (): void => {
    running = runUpkeep(deps).catch((err: unknown) =>
      log.error({ err }, 'tiering pass failed; the next one retries'),
    );
  };
  const timer = intervalSeconds > 0 ? setInterval(tick, intervalSeconds * 1000) : undefined;
  // Alongside servers the timer must not hold the process open; alone it is the process.
  if (!options.keepAlive) timer?.unref();
  return async () => {
    if (timer) clearInterval(timer);
    await running;
  };
}
