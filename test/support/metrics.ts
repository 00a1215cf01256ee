// A service's Prometheus counters, as a test reads them from its /metrics.

/** The values of `baseUrl`'s /metrics now: series with its labels → value (0 if absent). */
export async function scrapeMetrics(baseUrl: string): Promise<(series: string) => number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return (series) => values.get(series) ?? 0;
}
