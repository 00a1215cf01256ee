// When a subgraph cannot answer (down, or past its deadline), the gateway answers on
// its behalf: every field that fetch asked for is null with a typed error at its own
// path, so the client gets the other subgraphs' data plus errors it can place.
import { Kind, parse, type SelectionSetNode } from 'graphql';
import { ErrorCode } from '../core/errors.ts';

interface SubgraphRequest {
  query?: string;
  variables?: { representations?: { __typename?: string }[] } & Record<string, unknown>;
}

const responseKeys = (set: SelectionSetNode | undefined): string[] =>
  (set?.selections ?? []).flatMap((s) => {
    if (s.kind === Kind.FIELD)
      return s.name.value === '__typename' ? [] : [(s.alias ?? s.name).value];
    if (s.kind === Kind.INLINE_FRAGMENT) return responseKeys(s.selectionSet);
    return []; // the gateway sends subgraphs no named fragments it could not inline
  });

export function unavailablePayload(body: string, isTimeout: boolean): object {
  const code = isTimeout ? ErrorCode.ENGINE_TIMEOUT : ErrorCode.TIER_UNAVAILABLE;
  const message = isTimeout
    ? 'A data service did not answer in time; the other fields of this query were answered.'
    : 'A data service is unavailable; the other fields of this query were answered.';
  let request: SubgraphRequest;
  let roots: { key: string; selectionSet: SelectionSetNode | undefined }[];
  try {
    request = JSON.parse(body) as SubgraphRequest;
    const doc = parse(request.query ?? '');
    const operation = doc.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    roots =
      operation?.kind === Kind.OPERATION_DEFINITION
        ? operation.selectionSet.selections.flatMap((s) =>
            s.kind === Kind.FIELD
              ? [{ key: (s.alias ?? s.name).value, selectionSet: s.selectionSet }]
              : [],
          )
        : [];
  } catch {
    return { data: null, errors: [{ message, extensions: { code } }] };
  }
  const data: Record<string, unknown> = {};
  const errors: object[] = [];
  for (const root of roots) {
    if (root.key === '_entities') {
      const fields = responseKeys(root.selectionSet);
      data._entities = (request.variables?.representations ?? []).map((rep, i) => {
        for (const field of fields)
          errors.push({ message, path: ['_entities', i, field], extensions: { code } });
        return { __typename: rep.__typename, ...Object.fromEntries(fields.map((f) => [f, null])) };
      });
    } else {
      data[root.key] = null;
      errors.push({ message, path: [root.key], extensions: { code } });
    }
  }
  return { data, errors };
}
