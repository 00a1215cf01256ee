// The one small set of typed errors tidemark returns. Anything else is an internal
// error: logged with the request id, never shown to a client.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  QUERY_TOO_COSTLY: 'QUERY_TOO_COSTLY',
  RATE_LIMITED: 'RATE_LIMITED',
  ENGINE_TIMEOUT: 'ENGINE_TIMEOUT',
  TIER_UNAVAILABLE: 'TIER_UNAVAILABLE',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_USER_INPUT: 400,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  QUERY_TOO_COSTLY: 400,
  RATE_LIMITED: 429,
  ENGINE_TIMEOUT: 504,
  TIER_UNAVAILABLE: 503,
  INTERNAL_SERVER_ERROR: 500,
};

export class TidemarkError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { code, ...extra } });
    this.name = 'TidemarkError';
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export const badInput = (message: string, argument?: string): TidemarkError =>
  new TidemarkError(ErrorCode.BAD_USER_INPUT, message, argument ? { argument } : {});

const EXPOSED_GRAPHQL_CODES = new Set([
  'GRAPHQL_VALIDATION_FAILED',
  'GRAPHQL_PARSE_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_NOT_IN_LIST',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
]);

/** Extension keys that reveal internals (stack, subgraph names and responses). */
const HIDDEN_EXTENSIONS = new Set(['stacktrace', 'exception', 'serviceName', 'response', 'http']);

/** True when a client may see this error as it is (typed, or a GraphQL-level rejection). */
export function isExposable(original: unknown): boolean {
  if (original instanceof TidemarkError) return true;
  if (!(original instanceof GraphQLError)) return false;
  const cause = original.originalError;
  if (cause instanceof TidemarkError) return true;
  // A thrown non-GraphQL error is internal. (At the gateway, a subgraph's error arrives
  // as a plain object: the subgraph has already masked it.)
  if (cause instanceof Error && !(cause instanceof GraphQLError)) return false;
  const code = original.extensions?.code;
  return typeof code === 'string' ? EXPOSED_GRAPHQL_CODES.has(code) || code in HTTP_STATUS : true;
}

/**
 * Maps any error to what a client may see: typed tidemark and GraphQL validation
 * errors pass (without stack), everything else becomes an opaque internal error.
 */
export function maskError(
  formatted: GraphQLFormattedError,
  original: unknown,
): GraphQLFormattedError {
  if (isExposable(original)) {
    const extensions = Object.fromEntries(
      Object.entries(formatted.extensions ?? {}).filter(([key]) => !HIDDEN_EXTENSIONS.has(key)),
    );
    return { ...formatted, extensions };
  }
  return {
    message: 'Internal error; quote the request id when reporting it.',
    ...(formatted.path ? { path: formatted.path } : {}),
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}

/** A GraphQL-shaped error body for plain HTTP routes (bulk ingest, internal endpoints). */
export function errorBody(code: string, message: string, requestId?: string): object {
  return { errors: [{ message, extensions: { code, ...(requestId ? { requestId } : {}) } }] };
}
