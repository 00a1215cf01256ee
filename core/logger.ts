import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr, so stdout stays for what a command prints. */
export function createLogger(level: string, name = 'tidemark'): Logger {
  return pino({ name, level, base: { service: name } }, pino.destination(2));
}
