// Bearer JWTs: verified with jose (HS256 shared secret in development; issuer,
// audience and expiry always checked). The tenant comes only from a verified token.
import { jwtVerify, SignJWT } from 'jose';
import { ErrorCode, TidemarkError } from '../../core/errors.ts';
import { ROLES, type Role } from '../../core/signedContext.ts';

export interface JwtSettings {
  secret: string;
  issuer: string;
  audience: string;
}

export interface VerifiedToken {
  tenantId: string;
  subject: string;
  roles: Role[];
}

const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

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

export async function verifyBearer(
  settings: JwtSettings,
  authorization: string | undefined,
): Promise<VerifiedToken> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw unauthenticated('missing bearer token: send `Authorization: Bearer <jwt>`');
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1]!, key(settings.secret), {
      issuer: settings.issuer,
      audience: settings.audience,
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
  return { tenantId: payload.tid, subject: payload.sub, roles };
}
