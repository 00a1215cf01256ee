// What a client sees when a subgraph cannot answer: a typed code and a message that
// names no host, URL or subgraph, while the rest of the query's data still arrives.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ErrorCode, maskError } from '../core/errors.ts';

function failedFetch(error: unknown): Error | null {
  const cause = error instanceof GraphQLError ? error.originalError : error;
  if (!(cause instanceof Error) || cause instanceof GraphQLError) return null;
  const isNetwork =
    cause.name === 'TimeoutError' ||
    cause.name === 'AbortError' ||
    (cause.name === 'TypeError' && /fetch failed/i.test(cause.message)) ||
    'code' in cause;
  return isNetwork ? cause : null;
}

export function formatGatewayError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const failure = failedFetch(error);
  if (failure) {
    const isTimeout = failure.name === 'TimeoutError' || failure.name === 'AbortError';
    return {
      message: isTimeout
        ? 'A data service did not answer in time; the other fields of this query were answered.'
        : 'A data service is unavailable; the other fields of this query were answered.',
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { code: isTimeout ? ErrorCode.ENGINE_TIMEOUT : ErrorCode.TIER_UNAVAILABLE },
    };
  }
  return maskError(formatted, error);
}
