import { GraphQLISODateTime } from 'type-graphql';
import { describe, expect, it } from 'vitest';
import { DateTimeISO } from '../../core/dateTime.ts';
import { mulberry32 } from '../../core/prng.ts';

/** What type-graphql's scalar does with a value: its text, or its error's message. */
const outcome = (serialize: (v: unknown) => unknown, value: unknown): unknown => {
  try {
    return serialize(value);
  } catch (err) {
    return { error: (err as Error).message };
  }
};

describe('DateTimeISO', () => {
  it('has type-graphql’s name and description, so the published schema is unchanged', () => {
    expect(DateTimeISO.name).toBe(GraphQLISODateTime.name);
    expect(DateTimeISO.description).toBe(GraphQLISODateTime.description);
  });

  it('serialises every instant as type-graphql does, also once remembered and after forgetting', () => {
    const random = mulberry32(7);
    // Enough distinct instants to fill the memo and clear it; each one asked twice.
    const instants = Array.from({ length: 60_000 }, () =>
      Math.round((random() - 0.3) * 4e12),
    ).concat([0, -1, 1, 8.64e15, -8.64e15, Date.UTC(2026, 10, 1, 6)]);
    for (const pass of [1, 2]) {
      for (const ms of instants) {
        const got = DateTimeISO.serialize(new Date(ms));
        if (got !== GraphQLISODateTime.serialize(new Date(ms)))
          expect({ pass, ms, got }).toEqual({ pass, ms, got: new Date(ms).toISOString() });
      }
    }
  });

  it('refuses and converts other values exactly as type-graphql does', () => {
    for (const value of [
      new Date(Number.NaN),
      '2026-11-01T06:00:00+01:00',
      'not a date',
      1_764_000_000_000,
      {},
      null,
    ]) {
      expect(outcome((v) => DateTimeISO.serialize(v), value)).toEqual(
        outcome((v) => GraphQLISODateTime.serialize(v), value),
      );
    }
    expect(outcome((v) => DateTimeISO.serialize(v), new Date(Number.NaN))).toHaveProperty('error');
  });

  it('parses arguments with type-graphql’s rules', () => {
    expect(DateTimeISO.parseValue('2026-11-01T06:00:00Z')).toEqual(
      new Date('2026-11-01T06:00:00Z'),
    );
    expect(() => DateTimeISO.parseValue('2026-13-01T00:00:00Z')).toThrow();
  });
});
