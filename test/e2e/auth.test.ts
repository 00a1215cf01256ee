// Identity comes only from a verified token at the gateway; subgraphs serve nothing
// without a valid gateway-signed context.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../core/httpServer.ts';
import { CONTEXT_HEADER, signContext } from '../../core/signedContext.ts';
import { issueToken } from '../../gateway/auth/jwt.ts';
import { upsertEntities } from '../../hot/admin.ts';
import { createTenantDataset } from '../support/fixtures.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase.ts';

const NOW = Date.parse('2026-11-20T12:00:00Z');

describe('authentication and tenant scope', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    for (const [i, tenantId] of ['red', 'blue'].entries()) {
      await createTenantDataset(db.dbs.operator, {
        tenantId,
        timeZone: 'UTC',
        entities: 2,
        days: 3,
        rowsPerDay: 5,
        nowMs: NOW,
        seed: i,
      });
    }
    await upsertEntities(db.dbs.operator, 'blue', [{ id: 'blue-only', kind: 'pump' }]);
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('answers 401 with a GraphQL error when the token is missing, forged or expired', async () => {
    const cfg = stack.config;
    const wrongKey = await issueToken(
      { secret: 'x'.repeat(40), issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
      { tenantId: 'red', subject: 's', roles: ['viewer'] },
    );
    const expired = await issueToken(
      { secret: cfg.JWT_SECRET, issuer: cfg.JWT_ISSUER, audience: cfg.JWT_AUDIENCE },
      { tenantId: 'red', subject: 's', roles: ['viewer'] },
      Math.floor(Date.now() / 1000) - 10,
    );
    for (const [token, message] of [
      [null, /missing bearer token/],
      [wrongKey, /invalid token/],
      [expired, /expired/],
    ] as const) {
      const res = await stack.query(token, '{ tenant { id } }');
      expect(res.status).toBe(401);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.body.errors?.[0]?.message).toMatch(message);
      expect(res.body.data ?? null).toBeNull();
    }
  });

  it('scopes every answer to the token’s tenant', async () => {
    const res = await stack.query<{
      tenant: { id: string };
      entities: { nodes: { id: string }[] };
    }>(await stack.token('blue'), '{ tenant { id } entities { nodes { id } } }');
    expect(res.body.data?.tenant.id).toBe('blue');
    expect(res.body.data?.entities.nodes.map((n) => n.id)).toEqual(['blue-only', 'e-000', 'e-001']);
  });

  it('refuses subgraph requests without, or with a forged or expired, signed context', async () => {
    const entities = {
      query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Entity { id } } }',
      variables: { r: [{ __typename: 'Entity', id: 'e-000' }] },
    };
    const post = (url: string, headers: Record<string, string>) =>
      fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(entities),
      });
    const secret = stack.config.CONTEXT_SECRET;
    const identity = {
      tenantId: 'red',
      subject: 'mallory',
      roles: ['admin' as const],
      requestId: 'x',
    };
    const forged = signContext(identity, 'not-the-secret-not-the-secret-not-the!', 30);
    const replayed = signContext(identity, secret, 30, Date.now() - 60_000);
    for (const server of [stack.oltp, stack.olap]) {
      const attempts: Record<string, string>[] = [
        {},
        { 'x-tenant-id': 'red' },
        { [CONTEXT_HEADER]: forged },
        { [CONTEXT_HEADER]: replayed },
      ];
      for (const headers of attempts) {
        const res = await post(server.url, headers);
        expect(res.status).toBe(401);
        const body = (await res.json()) as {
          data?: unknown;
          errors: { extensions: { code: string } }[];
        };
        expect(body.data ?? null).toBeNull();
        expect(body.errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
      }
      const ok = await post(server.url, { [CONTEXT_HEADER]: signContext(identity, secret, 30) });
      expect(ok.status).toBe(200);
    }
  });

  it("resolves another tenant's entity ids to null in _entities", async () => {
    const identity = { tenantId: 'red', subject: 's', roles: ['viewer' as const], requestId: 'x' };
    const res = await fetch(`${stack.oltp.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [CONTEXT_HEADER]: signContext(identity, stack.config.CONTEXT_SECRET, 30),
      },
      body: JSON.stringify({
        query:
          'query($r: [_Any!]!) { _entities(representations: $r) { ... on Entity { id name } } }',
        variables: {
          r: [
            { __typename: 'Entity', id: 'e-000' },
            { __typename: 'Entity', id: 'blue-only' },
          ],
        },
      }),
    });
    const body = (await res.json()) as { data: { _entities: ({ id: string } | null)[] } };
    expect(body.data._entities[0]?.id).toBe('e-000'); // red's own entity
    expect(body.data._entities[1]).toBeNull(); // exists, but belongs to blue
  });

  it("answers top and breakdown of another tenant's reference with nothing, in the OLAP subgraph", async () => {
    const identity = { tenantId: 'red', subject: 's', roles: ['viewer' as const], requestId: 'y' };
    const ask = async (tenantId: string) => {
      const res = await fetch(`${stack.olap.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [CONTEXT_HEADER]: signContext(identity, stack.config.CONTEXT_SECRET, 30),
        },
        body: JSON.stringify({
          query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on Tenant {
            top(attribute: "value", from: "2020-01-01T00:00:00Z", to: "2035-01-01T00:00:00Z") { entity { id } }
            breakdown(attribute: "value", from: "2020-01-01T00:00:00Z", to: "2035-01-01T00:00:00Z") { key count } } } }`,
          variables: { r: [{ __typename: 'Tenant', id: tenantId }] },
        }),
      });
      const body = (await res.json()) as {
        errors?: unknown;
        data: { _entities: { top: unknown[]; breakdown: { count: number }[] }[] };
      };
      expect(body.errors).toBeUndefined();
      return body.data._entities[0]!;
    };
    const own = await ask('red');
    expect(own.top.length).toBeGreaterThan(0);
    expect(own.breakdown.reduce((n, g) => n + g.count, 0)).toBeGreaterThan(0);
    expect(await ask('blue')).toEqual({ top: [], breakdown: [] });
  });

  it('passes a typed subgraph error with its code, path and request id, and nothing internal', async () => {
    const res = await stack.query(
      await stack.token('red'),
      '{ entity(id: "e-000") { series(attribute: "nope", from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z", bucket: DAY) { points { count } } } }',
    );
    const error = res.body.errors?.[0];
    expect(error?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error?.message).toBe('unknown attribute "nope"');
    expect(error?.path).toEqual(['entity', 'series']);
    expect(typeof error?.extensions?.requestId).toBe('string');
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|stacktrace|serviceName|127\.0\.0\.1/);
  });
});

describe('internal errors', () => {
  let db: TestDatabase;
  let stack: Stack;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'red',
      timeZone: 'UTC',
      entities: 1,
      days: 3,
      rowsPerDay: 5,
      nowMs: NOW,
      seed: 3,
    });
  });
  afterAll(async () => {
    await stack?.close();
    await db?.drop();
  });

  it('reach the client masked: a code and the request id, no SQL, stack or subgraph detail', async () => {
    // Break the OLAP read path underneath the API: the app role loses its grant.
    await db.dbs.operator.query('REVOKE SELECT ON cold_files FROM tidemark_app');
    const res = await stack.query(
      await stack.token('red'),
      '{ entity(id: "e-000") { name series(attribute: "value", from: "2026-11-01T00:00:00Z", to: "2026-11-25T00:00:00Z", bucket: DAY) { points { count } } } }',
    );
    expect(res.body.data).toEqual({ entity: { name: 'e-000', series: null } });
    const [error] = res.body.errors ?? [];
    expect(error?.extensions).toEqual({
      code: 'INTERNAL_SERVER_ERROR',
      requestId: expect.any(String),
    });
    expect(error?.path).toEqual(['entity', 'series']);
    expect(JSON.stringify(res.body)).not.toMatch(
      /permission|cold_files|SELECT|stack|olap|serviceName|127\.0\.0\.1/i,
    );
  });
});

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

describe('production tokens from a JWKS', () => {
  let db: TestDatabase;
  let stack: Stack;
  let jwks: http.Server;
  let gateway: RunningServer;
  let signing: PrivateKey;
  let stranger: PrivateKey;

  beforeAll(async () => {
    db = await createTestDatabase();
    stack = await startStack(db);
    await createTenantDataset(db.dbs.operator, {
      tenantId: 'prod',
      timeZone: 'UTC',
      entities: 1,
      days: 2,
      rowsPerDay: 2,
      nowMs: NOW,
      seed: 8,
    });
    const pair = await generateKeyPair('RS256');
    signing = pair.privateKey;
    stranger = (await generateKeyPair('RS256')).privateKey;
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', () => r()));
    gateway = await stack.extraGateway({
      JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    jwks?.close();
    await stack?.close();
    await db?.drop();
  });

  const sign = (key: PrivateKey, kid = 'k1') =>
    new SignJWT({ tid: 'prod', roles: ['viewer'] })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setSubject('svc')
      .setIssuer(stack.config.JWT_ISSUER)
      .setAudience(stack.config.JWT_AUDIENCE)
      .setExpirationTime('5m')
      .sign(key);

  it('accepts RS256 tokens signed by a key in the JWKS and refuses others, and HS256', async () => {
    const url = `${gateway.url}/graphql`;
    const ok = await stack.query<{ tenant: { id: string } }>(
      await sign(signing),
      '{ tenant { id } }',
      {},
      url,
    );
    expect(ok.body.data?.tenant.id).toBe('prod');
    for (const token of [
      await sign(stranger),
      await sign(stranger, 'other-kid'),
      await stack.token('prod'),
    ]) {
      const refused = await stack.query(token, '{ tenant { id } }', {}, url);
      expect(refused.status).toBe(401);
    }
  });
});
