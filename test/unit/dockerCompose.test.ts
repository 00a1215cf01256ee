// docker-compose.yml is not run here (no Docker engine), so it is checked: every
// service's environment names a variable tidemark's config knows, every service it
// builds runs a real CLI command, and every file it mounts exists.
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES } from '../../core/config.ts';
import { SERVICES } from '../../cli/start.ts';

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(await readFile('docker-compose.yml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const ours = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

describe('docker-compose.yml', () => {
  it('runs every tidemark service from the project image', () => {
    const served = ours
      .map(([, s]) => s.command)
      .filter((c) => c?.[0] === 'serve')
      .map((c) => c![1]);
    expect(served.sort()).toEqual([...SERVICES].sort());
  });

  it.each(ours.map(([name]) => name))('%s sets only variables the config schema knows', (name) => {
    const env = Object.keys(compose.services[name]!.environment ?? {});
    expect(env.length).toBeGreaterThan(0);
    expect(env.filter((v) => !CONFIG_VARIABLES.includes(v))).toEqual([]);
  });

  it('runs the Trino version pinned for the test stack, with the same config files', async () => {
    const pinned = /^TRINO_VERSION=(\d+)$/m.exec(await readFile('stack/versions.env', 'utf8'))?.[1];
    const trino = compose.services.trino!;
    expect(trino.image).toBe(`trinodb/trino:${pinned}`);
    const mounted = (trino.volumes ?? []).map((v) => v.split(':')[0]!.replace(/^\.\//, ''));
    const stackFiles = [
      'stack/trino/config.properties',
      'stack/trino/jvm.config',
      'stack/trino/node.properties',
      ...readdirSync('stack/trino/catalog').map((f) => `stack/trino/catalog/${f}`),
    ];
    expect(mounted.sort()).toEqual(stackFiles.sort());
  });

  it('points every tidemark service at Trino, after Trino is healthy where it reads', () => {
    for (const [name, service] of ours)
      expect(service.environment?.TRINO_URL, name).toBe('http://trino:8080');
    for (const name of ['olap', 'tiering'])
      expect(compose.services[name]!.depends_on?.trino).toEqual({ condition: 'service_healthy' });
  });

  it('mounts only files that exist and depends only on defined services', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('.') || source.startsWith('/'))
          expect(existsSync(source), `${name}: ${source}`).toBe(true);
      }
      for (const dep of Object.keys(service.depends_on ?? {}))
        expect(compose.services[dep], `${name} -> ${dep}`).toBeDefined();
    }
  });
});
