// Streams NDJSON from an HTTP request into indexed rows without buffering the body.
// A body that ends early (client gone, gateway aborted) throws, so the batch's
// transaction rolls back instead of committing a prefix.
import type { IncomingMessage } from 'node:http';
import readline from 'node:readline';
import type { RawRow } from './ingestBatch.ts';

export class IncompleteBodyError extends Error {
  constructor() {
    super('the request body ended before it was complete');
    this.name = 'IncompleteBodyError';
  }
}

export async function* ndjsonRows(req: IncomingMessage): AsyncGenerator<RawRow> {
  let aborted = false;
  req.once('aborted', () => {
    aborted = true;
  });
  const lines = readline.createInterface({ input: req, crlfDelay: Infinity });
  let index = 0;
  for await (const line of lines) {
    if (aborted) throw new IncompleteBodyError();
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      yield { index: index++, invalid: 'line is not valid JSON' };
      continue;
    }
    yield { index: index++, raw };
  }
  if (aborted || !req.complete) throw new IncompleteBodyError();
}
