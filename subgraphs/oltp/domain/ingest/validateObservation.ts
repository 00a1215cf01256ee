// Checks one incoming observation against the tenant's registry and the accepted
// time range; pure, so every rejection code is unit-testable.
import { RejectionCode, type Rejection } from './rejections.ts';

export interface AttributeInfo {
  key: number;
  type: 'number' | 'string' | 'boolean';
}

export interface ValidRow {
  attributeKey: number;
  attributeName: string;
  entityKey: number;
  tsMs: number;
  tsText: string;
  value: number | string | boolean;
}

export interface TimeBounds {
  minMs: number;
  maxMs: number;
}

export const MAX_STRING_VALUE = 4096;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const reject = (index: number, code: Rejection['code'], message: string): Rejection => ({
  index,
  code,
  message,
});

const REQUIRED_TEXT_FIELDS = ['entity', 'attribute', 'ts'] as const;

export function validateObservation(
  index: number,
  raw: unknown,
  lookups: {
    attributes: ReadonlyMap<string, AttributeInfo>;
    entities: ReadonlyMap<string, number>;
  },
  bounds: TimeBounds,
): ValidRow | Rejection {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject(
      index,
      RejectionCode.INVALID_ROW,
      'a row must be an object with entity, attribute, ts and value',
    );
  }
  const row = raw as Record<string, unknown>;
  for (const field of REQUIRED_TEXT_FIELDS) {
    if (typeof row[field] !== 'string' || (row[field] as string).length === 0) {
      return reject(index, RejectionCode.INVALID_ROW, `${field} must be a non-empty string`);
    }
  }
  if (!('value' in row) || row.value === null) {
    return reject(index, RejectionCode.INVALID_ROW, 'value is missing');
  }
  const attributeName = row.attribute as string;
  const attribute = lookups.attributes.get(attributeName);
  if (!attribute) {
    return reject(
      index,
      RejectionCode.UNKNOWN_ATTRIBUTE,
      `attribute "${attributeName}" is not defined; define it with defineAttribute`,
    );
  }
  const entityId = row.entity as string;
  const entityKey = lookups.entities.get(entityId);
  if (entityKey === undefined) {
    return reject(
      index,
      RejectionCode.UNKNOWN_ENTITY,
      `entity "${entityId}" does not exist; create it with upsertEntities`,
    );
  }
  const ts = row.ts as string;
  const tsMs = INSTANT.test(ts) ? Date.parse(ts) : NaN;
  if (Number.isNaN(tsMs)) {
    return reject(
      index,
      RejectionCode.INVALID_TIMESTAMP,
      `ts "${ts.slice(0, 64)}" is not an ISO-8601 instant with a zone`,
    );
  }
  if (tsMs < bounds.minMs || tsMs > bounds.maxMs) {
    return reject(
      index,
      RejectionCode.TIMESTAMP_OUT_OF_RANGE,
      `ts ${ts} is outside the accepted range ${new Date(bounds.minMs).toISOString()} .. ${new Date(bounds.maxMs).toISOString()}`,
    );
  }
  const value = row.value;
  const actual = typeof value;
  const fits =
    (attribute.type === 'number' && actual === 'number' && Number.isFinite(value)) ||
    (attribute.type === 'string' && actual === 'string') ||
    (attribute.type === 'boolean' && actual === 'boolean');
  if (!fits) {
    const got =
      actual === 'number'
        ? 'a non-finite number'
        : actual === 'object'
          ? 'an object'
          : `a ${actual}`;
    const shown = actual === 'number' && Number.isFinite(value) ? 'a number' : got;
    return reject(
      index,
      RejectionCode.TYPE_MISMATCH,
      `attribute "${attributeName}" takes a ${attribute.type} value, got ${shown}`,
    );
  }
  if (actual === 'string' && (value as string).length > MAX_STRING_VALUE) {
    return reject(
      index,
      RejectionCode.VALUE_TOO_LONG,
      `string values are limited to ${MAX_STRING_VALUE} characters`,
    );
  }
  return {
    attributeKey: attribute.key,
    attributeName,
    entityKey,
    tsMs,
    tsText: ts,
    value: value as ValidRow['value'],
  };
}

export const isRejection = (r: ValidRow | Rejection): r is Rejection => 'code' in r;
