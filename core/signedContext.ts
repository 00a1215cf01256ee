// The gateway-signed request context. Subgraphs trust tenant, subject and roles only
// from a valid, unexpired HMAC over this payload; nothing else in a request names a tenant.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, TidemarkError } from './errors.ts';

export const CONTEXT_HEADER = 'x-tidemark-context';
export const ROLES = ['viewer', 'ingest', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface RequestIdentity {
  tenantId: string;
  subject: string;
  roles: Role[];
  requestId: string;
}

interface SignedPayload extends RequestIdentity {
  exp: number; // epoch seconds
}

const mac = (body: string, secret: string): Buffer =>
  createHmac('sha256', secret).update(body).digest();

export function signContext(
  identity: RequestIdentity,
  secret: string,
  ttlSeconds: number,
  nowMs = Date.now(),
): string {
  const payload: SignedPayload = { ...identity, exp: Math.floor(nowMs / 1000) + ttlSeconds };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${mac(body, secret).toString('base64url')}`;
}

const unauthenticated = (why: string): TidemarkError =>
  new TidemarkError(ErrorCode.UNAUTHENTICATED, `subgraph request refused: ${why}`);

export function verifyContext(
  header: string | undefined,
  secret: string,
  nowMs = Date.now(),
): RequestIdentity {
  if (!header) throw unauthenticated('no signed gateway context');
  const [body, signature, extra] = header.split('.');
  if (!body || !signature || extra !== undefined) throw unauthenticated('malformed context');
  const expected = mac(body, secret);
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw unauthenticated('bad context signature');
  }
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SignedPayload;
  if (typeof payload.exp !== 'number' || payload.exp * 1000 < nowMs) {
    throw unauthenticated('expired context');
  }
  const { exp: _exp, ...identity } = payload;
  return identity;
}

export function hasRole(identity: RequestIdentity, role: Role): boolean {
  return identity.roles.includes(role) || identity.roles.includes('admin');
}

export function requireRole(identity: RequestIdentity, role: Role): void {
  if (!hasRole(identity, role)) {
    throw new TidemarkError(ErrorCode.FORBIDDEN, `this operation needs the ${role} role`);
  }
}
