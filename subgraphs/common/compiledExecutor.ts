// Runs a subgraph's repeated queries compiled by graphql-jit instead of interpreted by
// graphql-js's `execute`. graphql-js walks the document for every object it resolves,
// building a result map, path and info objects and argument dictionaries per field: a
// 9,000-point series answer is ~63,000 fields, and that walk was most of the OLAP
// subgraph's time for it after the engines. graphql-jit turns an operation into one
// JavaScript function for the schema. Measured side by side (two OLAP subgraphs over
// one database, interleaved `_entities` requests for 100 entities × 90 days, warm), p50
// of 60: `points` 81.5 instead of 99.3 ms, `columns` 65.6 instead of 71.8 ms.
//
// What runs compiled, and what does not:
// - queries only; mutations (ingest) run through graphql-js, their time is PostgreSQL's;
// - an operation (document and operation name) from its `compileAfter`-th run on, so
//   that an ad-hoc query never pays for compiling, and a dashboard's repeats do;
// - never a document that carries a directive: graphql-jit has had wrong answers for
//   @skip/@include on fragments (zalando-incubator/graphql-jit#111, #166), and the
//   gateway's query plans pass such conditions on to subgraphs.
// Anything graphql-jit refuses to compile runs through graphql-js as well, and so does a
// run whose variables do not coerce, so that its errors are graphql-js's own. Compiled
// operations hang off Apollo's parsed document (its document store hands out one object
// per query text), so they go when the document leaves that store.
//
// Apollo Server takes a custom executor only from a gateway; this is one with a fixed
// schema.
import type { ApolloServerOptionsWithGateway, BaseContext } from '@apollo/server';
import {
  BREAK,
  execute,
  GraphQLError,
  visit,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type GatewayInterface = ApolloServerOptionsWithGateway<BaseContext>['gateway'];

/** How a document's operations are run: by name, the runs so far or the compiled query. */
type Plans = Map<string, number | CompiledQuery | 'interpret'>;

export interface CompiledExecutor {
  gateway: GatewayInterface;
  /** Operations run so far, by how (the tests read it). */
  readonly runs: { compiled: number; interpreted: number };
}

const hasDirective = (document: DocumentNode): boolean => {
  let found = false;
  visit(document, {
    Directive() {
      found = true;
      return BREAK;
    },
  });
  return found;
};

/**
 * graphql-jit's field errors as graphql-js's: jit builds its own, without the empty
 * `extensions` that graphql-js always gives and Apollo Server reads (it answered
 * "Internal server error" for them).
 */
function asGraphQLError(error: GraphQLError): GraphQLError {
  const converted = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
  (converted as { locations: GraphQLError['locations'] }).locations = error.locations;
  return converted;
}

/**
 * An executor over `schema` that compiles an operation on its `compileAfter`-th run
 * (0: never; every operation runs through graphql-js).
 */
export function compiledExecutor(schema: GraphQLSchema, compileAfter: number): CompiledExecutor {
  const plans = new WeakMap<DocumentNode, Plans>();
  const runs = { compiled: 0, interpreted: 0 };

  const planFor = (
    document: DocumentNode,
    operationName: string | undefined,
    isQuery: boolean,
  ): CompiledQuery | null => {
    if (compileAfter === 0 || !isQuery) return null;
    let byName = plans.get(document);
    if (!byName) {
      byName = new Map();
      plans.set(document, byName);
    }
    const name = operationName ?? '';
    let plan = byName.get(name);
    if (plan === undefined) {
      plan = hasDirective(document) ? 'interpret' : 0;
      byName.set(name, plan);
    }
    if (plan === 'interpret') return null;
    if (typeof plan !== 'number') return plan;
    if (plan + 1 < compileAfter) {
      byName.set(name, plan + 1);
      return null;
    }
    const compiled = compileQuery(schema, document, operationName);
    if (!isCompiledQuery(compiled)) {
      byName.set(name, 'interpret'); // refused (no such operation, …): graphql-js says why
      return null;
    }
    byName.set(name, compiled);
    return compiled;
  };

  const gateway: GatewayInterface = {
    async load() {
      return {
        executor: async (request) => {
          const variables = request.request.variables ?? {};
          const operationName = request.operationName ?? undefined;
          const compiled = planFor(
            request.document,
            operationName,
            request.operation.operation === 'query',
          );
          if (compiled) {
            const result = await compiled.query(undefined, request.context, variables);
            // No data: the request failed before any resolver ran (variables that do not
            // coerce). graphql-js words those errors its own way, and Apollo Server reads
            // its shape to answer BAD_USER_INPUT; so it gives them.
            if (result.data !== undefined) {
              runs.compiled += 1;
              return result.errors
                ? { ...result, errors: result.errors.map(asGraphQLError) }
                : result;
            }
          }
          runs.interpreted += 1;
          return execute({
            schema,
            document: request.document,
            contextValue: request.context,
            variableValues: variables,
            operationName,
          });
        },
      };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => undefined;
    },
    async stop() {},
  };
  return { gateway, runs };
}
