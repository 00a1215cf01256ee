// Responses that the gateway already holds as bytes, sent as those bytes.
//
// Apollo Server's `stringifyResult` must return a string, which Express then encodes
// to send. A stored answer (responseCache.ts) and an answer spliced from the
// subgraphs' own bytes (rawSubtrees.ts) are bytes already: decoding them for Apollo
// only for Express to encode them again cost ~2 ms per 9,000-point dashboard, and a
// second 0.9 MB copy for the collector. So Apollo is handed a short placeholder, and
// `middleware`, ahead of Apollo's, sends the bytes in its place.
//
// A placeholder is sent as its bytes once: Apollo's Express integration hands the
// string `stringifyResult` returned straight to `res.send`, moments later. One never
// sent (a request that failed in between) is forgotten after a minute.
import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';

const FORGET_AFTER_MS = 60_000;

export class ResponseBytes {
  /** Placeholder → the bytes to send and when it was made, oldest first. */
  private readonly held = new Map<string, { bytes: Buffer; madeAt: number }>();
  /** Nobody else can make a placeholder: a body that merely looks like one is text. */
  private readonly prefix = `tidemark-bytes-${randomBytes(12).toString('hex')}-`;
  private made = 0;

  /** What to give Apollo for a response: a string as is, bytes as a placeholder. */
  body(response: string | Buffer): string {
    if (typeof response === 'string') return response;
    const now = Date.now();
    for (const [placeholder, { madeAt }] of this.held) {
      if (now - madeAt < FORGET_AFTER_MS) break;
      this.held.delete(placeholder);
    }
    const placeholder = `${this.prefix}${(this.made++).toString(36)}`;
    this.held.set(placeholder, { bytes: response, madeAt: now });
    return placeholder;
  }

  /** Express middleware before Apollo's: sends a placeholder's bytes in its place. */
  readonly middleware: RequestHandler = (_req, res, next) => {
    const send = res.send;
    res.send = (body?: unknown) => {
      const held = typeof body === 'string' ? this.held.get(body) : undefined;
      if (!held) return send.call(res, body);
      this.held.delete(body as string);
      return send.call(res, held.bytes);
    };
    next();
  };
}
