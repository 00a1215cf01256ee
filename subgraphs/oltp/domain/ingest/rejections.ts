// Why a row was not stored. Codes are part of the API contract.
export const RejectionCode = {
  INVALID_ROW: 'INVALID_ROW',
  UNKNOWN_ENTITY: 'UNKNOWN_ENTITY',
  UNKNOWN_ATTRIBUTE: 'UNKNOWN_ATTRIBUTE',
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  INVALID_TIMESTAMP: 'INVALID_TIMESTAMP',
  TIMESTAMP_OUT_OF_RANGE: 'TIMESTAMP_OUT_OF_RANGE',
  VALUE_TOO_LONG: 'VALUE_TOO_LONG',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

export interface Rejection {
  index: number;
  code: RejectionCode;
  message: string;
}

export interface IngestSummary {
  accepted: number;
  duplicates: number;
  rejectedCount: number;
  /** The first MAX_REPORTED_REJECTIONS rejections, in input order. */
  rejected: Rejection[];
  /** False when an atomic batch had rejections and nothing was stored. */
  stored: boolean;
  /** True when this answer replays an earlier batch with the same idempotency key. */
  replayed: boolean;
}

export const MAX_REPORTED_REJECTIONS = 1000;
