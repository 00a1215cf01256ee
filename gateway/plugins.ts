// The gateway's request-pipeline pieces: tidemark's cost limit (before planning),
// metrics per operation, and the per-tenant rate limit shared by GraphQL and ingest.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Response } from 'express';
import { GraphQLError } from 'graphql';
import { ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { GatewayMetrics } from './metrics.ts';
import { estimateQueryPoints } from './queryCost.ts';
import { rateLimitHeaders, type Budget, type RateLimits } from './rateLimit.ts';

export function costLimitPlugin(maxPoints: number, metrics: GatewayMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request }) {
          if (!operation) return;
          const points = estimateQueryPoints(document, operation, request.variables ?? {});
          if (points > maxPoints) {
            metrics.rejections.inc({ reason: 'too_costly' });
            throw new GraphQLError(
              `This query could return about ${points} points; the limit is ${maxPoints}. ` +
                'Ask for a coarser bucket, a shorter range or fewer entities.',
              {
                extensions: {
                  code: ErrorCode.QUERY_TOO_COSTLY,
                  estimatedPoints: points,
                  maxPoints,
                  http: { status: 400 },
                },
              },
            );
          }
        },
      };
    },
  };
}

const operationLabel = (name: string | null | undefined): string =>
  name && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : name ? 'other' : 'anonymous';

export function metricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin {
  return {
    async requestDidStart({ request }) {
      const end = metrics.duration.startTimer();
      return {
        async willSendResponse({ response, operationName, errors }) {
          const operation = operationLabel(operationName ?? request.operationName);
          const failed =
            (errors?.length ?? 0) > 0 ||
            (response.body.kind === 'single' &&
              (response.body.singleResult.errors?.length ?? 0) > 0);
          end({ operation });
          metrics.requests.inc({ operation, outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

/**
 * Consumes one request from the tenant's budget; sets the RateLimit headers and, when
 * the budget is spent, throws a 429 GraphQL error with Retry-After. A failing store
 * (Redis down) lets the request through, logged: availability over strictness.
 */
export async function enforceRateLimit(
  limits: RateLimits,
  metrics: GatewayMetrics,
  tenantId: string,
  budget: Budget,
  requestId: string,
  log: Logger,
  res: Response,
): Promise<void> {
  let decision;
  try {
    decision = await limits.check(tenantId, budget);
  } catch (err) {
    log.warn({ err, requestId }, 'rate-limit store failed; request let through');
    return;
  }
  const headers = rateLimitHeaders(decision);
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (!decision.allowed) {
    metrics.rateLimited.inc({ budget });
    throw new GraphQLError(
      `rate limit reached for this tenant's ${budget} budget; retry after ${decision.retryAfterSeconds} s`,
      {
        extensions: { code: ErrorCode.RATE_LIMITED, requestId, http: { status: 429 } },
      },
    );
  }
}
