// tidemark's own cost model, checked before any planning: the points a query could
// return, summed over its `series` fields as (range ÷ bucket width) × the number of
// entities each series field can be reached for (entities(first: N) multiplies by N).
import {
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import { Bucket, estimateBuckets } from '../core/buckets.ts';

/** List fields and how many items each may return at most (argument, default). */
const LIST_MULTIPLIERS: Record<string, { argument: string; fallback: number }> = {
  entities: { argument: 'first', fallback: 50 },
};

function argumentValue(
  field: FieldNode,
  name: string,
  variables: Record<string, unknown>,
): unknown {
  const arg = field.arguments?.find((a) => a.name.value === name);
  return arg ? literal(arg.value, variables) : undefined;
}

function literal(value: ValueNode, variables: Record<string, unknown>): unknown {
  switch (value.kind) {
    case Kind.VARIABLE:
      return variables[value.name.value];
    case Kind.INT:
    case Kind.FLOAT:
      return Number(value.value);
    case Kind.STRING:
    case Kind.ENUM:
      return value.value;
    default:
      return undefined;
  }
}

function seriesPoints(field: FieldNode, variables: Record<string, unknown>): number {
  const from = Date.parse(String(argumentValue(field, 'from', variables)));
  const to = Date.parse(String(argumentValue(field, 'to', variables)));
  const bucket = argumentValue(field, 'bucket', variables) as Bucket;
  if (!(bucket in Bucket) || Number.isNaN(from) || Number.isNaN(to) || to <= from) return 0; // the subgraph rejects it
  return estimateBuckets(from, to, bucket);
}

export function estimateQueryPoints(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const walk = (
    set: SelectionSetNode | undefined,
    multiplier: number,
    seen: Set<string>,
  ): number => {
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        if (seen.has(name)) continue; // cycles are a validation error anyway
        total += walk(fragments.get(name)?.selectionSet, multiplier, new Set([...seen, name]));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += walk(selection.selectionSet, multiplier, seen);
      } else {
        const name = selection.name.value;
        if (name === 'series') total += multiplier * seriesPoints(selection, variables);
        const list = LIST_MULTIPLIERS[name];
        const factor = list
          ? Number(argumentValue(selection, list.argument, variables) ?? list.fallback) ||
            list.fallback
          : 1;
        total += walk(selection.selectionSet, multiplier * factor, seen);
      }
    }
    return total;
  };
  return walk(operation.selectionSet, 1, new Set());
}
