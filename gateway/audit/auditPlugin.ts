// Records every operation: tenant, subject, operation name, document and variables
// hashes, duration, outcome and the subgraphs it called. Enqueue only: never awaited.
import { createHash } from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestScoped } from '../../core/errorPlugin.ts';
import type { RequestIdentity } from '../../core/signedContext.ts';
import type { AuditSink } from './auditSink.ts';

export interface AuditedContext extends RequestScoped {
  identity: RequestIdentity;
  subgraphsCalled: Set<string>;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export function auditPlugin<C extends AuditedContext>(sink: AuditSink): ApolloServerPlugin<C> {
  return {
    async requestDidStart({ request, contextValue }) {
      const started = Date.now();
      return {
        async willSendResponse({ response, operationName, errors }) {
          const hasErrors =
            (errors?.length ?? 0) > 0 ||
            (response.body.kind === 'single' &&
              (response.body.singleResult.errors?.length ?? 0) > 0);
          sink.record({
            tenantId: contextValue.identity.tenantId,
            at: new Date(started).toISOString(),
            requestId: contextValue.requestId,
            subject: contextValue.identity.subject,
            operationName: operationName ?? request.operationName ?? null,
            documentHash: sha256(request.query ?? ''),
            variablesHash: sha256(JSON.stringify(request.variables ?? {})),
            durationMs: Date.now() - started,
            outcome: hasErrors ? 'error' : 'ok',
            subgraphs: [...contextValue.subgraphsCalled].sort(),
          });
        },
      };
    },
  };
}
