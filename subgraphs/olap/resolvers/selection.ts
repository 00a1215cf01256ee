// What a client selected below a field, so an engine computes costly extras (percentile
// sketches) only for the clients that ask for them. Follows fragment spreads and inline
// fragments, and honours @skip / @include.
import {
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  getDirectiveValues,
  type FieldNode,
  type FragmentSpreadNode,
  type GraphQLResolveInfo,
  type InlineFragmentNode,
  type SelectionSetNode,
} from 'graphql';

export const PERCENTILE_FIELDS = ['p50', 'p90', 'p99'];

/** @skip / @include, as execution will apply them. */
function included(
  info: GraphQLResolveInfo,
  node: FieldNode | FragmentSpreadNode | InlineFragmentNode,
): boolean {
  const skip = getDirectiveValues(GraphQLSkipDirective, node, info.variableValues);
  if (skip?.if === true) return false;
  const include = getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues);
  return include?.if !== false;
}

function fieldsIn(info: GraphQLResolveInfo, set: SelectionSetNode | undefined): FieldNode[] {
  if (!set) return [];
  return set.selections.flatMap((s) => {
    if (!included(info, s)) return [];
    if (s.kind === 'Field') return [s];
    if (s.kind === 'InlineFragment') return fieldsIn(info, s.selectionSet);
    return fieldsIn(info, info.fragments[s.name.value]?.selectionSet);
  });
}

/** True when any of `names` is selected at `path` below the resolved field. */
export function selectsAny(
  info: GraphQLResolveInfo,
  names: string[],
  path: string[] = [],
): boolean {
  let level: readonly FieldNode[] = info.fieldNodes;
  for (const step of path) {
    level = level
      .flatMap((f) => fieldsIn(info, f.selectionSet))
      .filter((f) => f.name.value === step);
  }
  return level
    .flatMap((f) => fieldsIn(info, f.selectionSet))
    .some((f) => names.includes(f.name.value));
}
