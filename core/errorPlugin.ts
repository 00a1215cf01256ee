// Apollo Server plugin shared by every tidemark server: logs internal causes with the
// request id and stamps that id on every error a client receives.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { isExposable } from './errors.ts';
import type { Logger } from './logger.ts';

export interface RequestScoped extends BaseContext {
  requestId: string;
  log: Logger;
  /**
   * Set by a resolver whose answer can change without a committed write (it reads the
   * clock, or the audit log): the answer then says `Cache-Control: no-store` and the
   * gateway's response cache does not keep it. The cache keys answers by tenant and
   * roles, not by subject: a field whose answer depends on who asks must set it too.
   */
  uncacheable?: boolean;
}

export function errorReportingPlugin<C extends RequestScoped>(): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (!isExposable(error)) {
              contextValue.log?.error(
                { err: error.originalError ?? error, path: error.path },
                'internal error',
              );
            }
          }
        },
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single') return;
          for (const error of response.body.singleResult.errors ?? []) {
            (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
          }
        },
      };
    },
  };
}
