// Bearer JWTs: verified with jose (HS256 shared secret in development, RS256/ES256
// from a JWKS URL in production; issuer, audience and expiry always checked). The
// tenant comes only from a verified token.
//
// A token that verified is remembered for a while (VERIFIED_FOR_MS, never past its
// `exp`): a dashboard sends the same token with every request, and jose checks a
// signature through WebCrypto, a job handed to libuv's thread pool and back, which
// took 0.35-0.65 ms of each request's wall time (measured at the gateway, 2026-12-03).
// Only successes are kept, keyed by the whole token and the settings that accepted
// it, so nothing can be remembered that jose did not accept. The bound on the time
// is for JWKS rotation: jose itself keeps a fetched key set for up to 10 minutes
// (cacheMaxAge), so a key withdrawn from it works at most 30 s longer than it did.
import { createRemoteJWKSet, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../core/config.ts';
import { ErrorCode, TidemarkError } from '../../core/errors.ts';
import { ROLES, type Role } from '../../core/signedContext.ts';

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
  /** Production: RS256/ES256 tokens checked against this JWKS (keys cached, rotated by kid). */
  jwksUrl?: string;
}

/** The JWT settings from configuration. */
export function jwtSettings(
  config: Pick<Config, 'JWT_SECRET' | 'JWT_ISSUER' | 'JWT_AUDIENCE' | 'JWKS_URL'>,
): JwtSettings {
  return {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    jwksUrl: config.JWKS_URL,
  };
}

const remoteKeySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function remoteKeys(url: string): ReturnType<typeof createRemoteJWKSet> {
  let set = remoteKeySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 3000, cooldownDuration: 30_000 });
    remoteKeySets.set(url, set);
  }
  return set;
}

export interface VerifiedToken {
  tenantId: string;
  subject: string;
  roles: Role[];
}

const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

/**
 * The shared secret as a WebCrypto key, imported once per secret: given the raw bytes,
 * jose imports them again for every token verified.
 */
const verifyKeys = new Map<string, Promise<CryptoKey>>();
function verifyKey(secret: string): Promise<CryptoKey> {
  let imported = verifyKeys.get(secret);
  if (!imported) {
    imported = crypto.subtle.importKey(
      'raw',
      key(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['verify'],
    );
    verifyKeys.set(secret, imported);
  }
  return imported;
}

export async function issueToken(
  settings: JwtSettings,
  claims: { tenantId: string; subject: string; roles: Role[] },
  ttl: string | number = '30d',
): Promise<string> {
  return new SignJWT({ tid: claims.tenantId, roles: claims.roles })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(key(settings.secret));
}

const unauthenticated = (message: string): TidemarkError =>
  new TidemarkError(ErrorCode.UNAUTHENTICATED, message);

/** How long a verified token is taken on trust (see the top of this file). */
const VERIFIED_FOR_MS = 30_000;

/** Verified tokens → what they say and until when (epoch ms) that holds; per settings. */
const verifiedTokens = new Map<
  string,
  LRUCache<string, { token: VerifiedToken; untilMs: number }>
>();
function verifiedUnder(settings: JwtSettings) {
  const key = JSON.stringify([
    settings.secret,
    settings.issuer,
    settings.audience,
    settings.jwksUrl,
  ]);
  let cache = verifiedTokens.get(key);
  if (!cache) {
    cache = new LRUCache({ max: 10_000 });
    verifiedTokens.set(key, cache);
  }
  return cache;
}

export async function verifyBearer(
  settings: JwtSettings,
  authorization: string | undefined,
): Promise<VerifiedToken> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw unauthenticated('missing bearer token: send `Authorization: Bearer <jwt>`');
  const jwt = match[1]!;
  const verified = verifiedUnder(settings);
  const known = verified.get(jwt);
  // Date.now, as jose reads the clock for `exp`.
  if (known && Date.now() < known.untilMs) return known.token;
  const checked = await verifyJwt(settings, jwt);
  verified.set(jwt, checked);
  return checked.token;
}

/** The token checked by jose, and how long that check may be trusted. */
async function verifyJwt(
  settings: JwtSettings,
  jwt: string,
): Promise<{ token: VerifiedToken; untilMs: number }> {
  let payload;
  try {
    const options = { issuer: settings.issuer, audience: settings.audience };
    ({ payload } = settings.jwksUrl
      ? await jwtVerify(jwt, remoteKeys(settings.jwksUrl), {
          ...options,
          algorithms: ['RS256', 'ES256'],
        })
      : await jwtVerify(jwt, await verifyKey(settings.secret), {
          ...options,
          algorithms: ['HS256'],
        }));
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw unauthenticated(code === 'ERR_JWT_EXPIRED' ? 'token expired' : 'invalid token');
  }
  const roles = Array.isArray(payload.roles)
    ? payload.roles.filter((r): r is Role => ROLES.includes(r as Role))
    : [];
  if (typeof payload.tid !== 'string' || payload.tid.length === 0)
    throw unauthenticated('token names no tenant');
  if (typeof payload.sub !== 'string') throw unauthenticated('token names no subject');
  if (roles.length === 0) throw unauthenticated('token grants no role');
  const trustedUntil = Date.now() + VERIFIED_FOR_MS;
  return {
    token: { tenantId: payload.tid, subject: payload.sub, roles },
    // jose accepts a token while the clock, in whole seconds, is before its `exp`.
    untilMs: payload.exp === undefined ? trustedUntil : Math.min(trustedUntil, payload.exp * 1000),
  };
}
