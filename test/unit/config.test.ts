import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../core/config.ts';

describe('configuration', () => {
  it('defaults to the embedded set-up on the documented ports', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c.isEmbeddedPostgres).toBe(true);
    expect([c.GATEWAY_PORT, c.OLTP_PORT, c.OLAP_PORT]).toEqual([4000, 4001, 4002]);
    expect(c.lakeDir).toBe('/srv/app/.tidemark/lake');
    expect(c.oltpUrl).toBe('http://127.0.0.1:4001/graphql');
  });

  it('reports one line per bad variable', () => {
    try {
      loadConfig({ GATEWAY_PORT: 'eighty', LOG_LEVEL: 'loud', TRINO_URL: 'not a url' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toHaveLength(3);
      expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
        'GATEWAY_PORT',
        'LOG_LEVEL',
        'TRINO_URL',
      ]);
    }
  });

  it('refuses development secrets in production', () => {
    expect(() => loadConfig({ TIDEMARK_ENV: 'production' })).toThrow(
      /JWT_SECRET.*\n.*CONTEXT_SECRET/,
    );
  });

  it('refuses an Apollo key without the graph ref its reports belong to', () => {
    expect(() => loadConfig({ APOLLO_KEY: 'service:x:y' })).toThrow(/APOLLO_GRAPH_REF/);
    expect(loadConfig({ APOLLO_KEY: 'service:x:y', APOLLO_GRAPH_REF: 'g@v' }).APOLLO_KEY).toBe(
      'service:x:y',
    );
  });

  it('accepts fractional refill rates and leaves the burst to the gateway default', () => {
    const c = loadConfig({ RATE_LIMIT_QUERY_PER_SECOND: '0.5' });
    expect(c.RATE_LIMIT_QUERY_PER_SECOND).toBe(0.5);
    expect(c.RATE_LIMIT_QUERY_BURST).toBeUndefined();
    expect(() => loadConfig({ RATE_LIMIT_QUERY_BURST: '1.5' })).toThrow(ConfigError);
  });
});
