// The gateway remembers tokens it verified (gateway/auth/jwt.ts): what it remembers
// must never outlive the token, nor let another configuration accept it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { issueToken, verifyBearer, type JwtSettings } from '../../gateway/auth/jwt.ts';

const settings: JwtSettings = {
  secret: 'a-test-secret-that-is-long-enough-to-use!',
  issuer: 'tidemark-test',
  audience: 'tidemark-test-api',
};
const claims = { tenantId: 'acme', subject: 'ann', roles: ['viewer' as const] };

describe('bearer tokens', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a remembered token once it expires', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.parse('2026-12-03T10:00:00.500Z'));
    const bearer = `Bearer ${await issueToken(settings, claims, '2s')}`;
    await expect(verifyBearer(settings, bearer)).resolves.toEqual(claims);
    vi.setSystemTime(Date.parse('2026-12-03T10:00:01.900Z'));
    await expect(verifyBearer(settings, bearer)).resolves.toEqual(claims); // remembered
    vi.setSystemTime(Date.parse('2026-12-03T10:00:02.000Z')); // its `exp` second
    await expect(verifyBearer(settings, bearer)).rejects.toThrow(/token expired/);
  });

  it('does not let a token verified under one configuration pass another', async () => {
    const bearer = `Bearer ${await issueToken(settings, claims, '60s')}`;
    await expect(verifyBearer(settings, bearer)).resolves.toEqual(claims);
    for (const other of [
      { ...settings, secret: 'another-secret-that-is-long-enough-to-use' },
      { ...settings, audience: 'another-api' },
      { ...settings, issuer: 'another-issuer' },
    ]) {
      await expect(verifyBearer(other, bearer)).rejects.toThrow(/invalid token/);
    }
    await expect(verifyBearer(settings, bearer)).resolves.toEqual(claims);
  });

  it('refuses a remembered token whose signature was altered', async () => {
    const token = await issueToken(settings, claims, '60s');
    await expect(verifyBearer(settings, `Bearer ${token}`)).resolves.toEqual(claims);
    const [header, payload, signature] = token.split('.');
    const altered = `${signature!.slice(0, -4)}${signature!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    await expect(verifyBearer(settings, `Bearer ${header}.${payload}.${altered}`)).rejects.toThrow(
      /invalid token/,
    );
  });
});
