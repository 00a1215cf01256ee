// Streams NDJSON from an HTTP request into indexed rows without buffering the body:
// one group of rows per body chunk. A body that ends early (client gone, gateway
// aborted) throws, so the batch's transaction rolls back instead of committing a prefix.
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import type { RawRow } from './ingestBatch.ts';

export class IncompleteBodyError extends Error {
  constructor() {
    super('the request body ended before it was complete');
    this.name = 'IncompleteBodyError';
  }
}

export async function* ndjsonRows(req: IncomingMessage): AsyncGenerator<RawRow[]> {
  let aborted = false;
  req.once('aborted', () => {
    aborted = true;
  });
  const decoder = new StringDecoder('utf8');
  let index = 0;
  let rest = '';
  const parse = (line: string, out: RawRow[]): void => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      out.push({ index: index++, invalid: 'line is not valid JSON' });
      return;
    }
    out.push({ index: index++, raw });
  };
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (aborted) throw new IncompleteBodyError();
    const text = rest + decoder.write(chunk);
    const group: RawRow[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      parse(text.slice(start, nl), group);
      start = nl + 1;
    }
    rest = text.slice(start);
    if (group.length > 0) yield group;
  }
  if (aborted || !req.complete) throw new IncompleteBodyError();
  const last: RawRow[] = [];
  parse(rest + decoder.end(), last);
  if (last.length > 0) yield last;
}
