import { describe, expect, it } from 'vitest';
import {
  hasRole,
  signContext,
  verifyContext,
  type RequestIdentity,
} from '../../core/signedContext.ts';

const SECRET = 'a-test-secret-that-is-long-enough-to-use!';
const identity: RequestIdentity = {
  tenantId: 'acme',
  subject: 'ann',
  roles: ['viewer'],
  requestId: 'r-1',
};

describe('gateway-signed context', () => {
  it('round-trips identity within its lifetime', () => {
    expect(verifyContext(signContext(identity, SECRET, 30), SECRET)).toEqual(identity);
  });

  it('refuses a context signed with another secret', () => {
    expect(() =>
      verifyContext(signContext(identity, 'another-secret-another-secret-another!', 30), SECRET),
    ).toThrow(/bad context signature/);
  });

  it('refuses a context whose tenant was edited after signing', () => {
    const [body, sig] = signContext(identity, SECRET, 30).split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, tenantId: 'globex' })).toString(
      'base64url',
    );
    expect(() => verifyContext(`${forged}.${sig}`, SECRET)).toThrow(/bad context signature/);
  });

  it('refuses a replayed context after it expires', () => {
    const signed = signContext(identity, SECRET, 30, Date.now() - 31_000);
    expect(() => verifyContext(signed, SECRET)).toThrow(/expired/);
  });

  it('refuses a missing or malformed header', () => {
    expect(() => verifyContext(undefined, SECRET)).toThrow(/no signed gateway context/);
    expect(() => verifyContext('abc', SECRET)).toThrow(/malformed/);
  });

  it('lets admin act as any role', () => {
    expect(hasRole({ ...identity, roles: ['admin'] }, 'ingest')).toBe(true);
    expect(hasRole(identity, 'ingest')).toBe(false);
  });
});
