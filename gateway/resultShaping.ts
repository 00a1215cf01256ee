// Imported by gateway/server.ts right after federationInternals.ts: Apollo Gateway's
// result shaping (`computeResponse` in @apollo/gateway's dist/resultShaping.js), with
// the same rules, values and errors, but without the garbage.
//
// After the subgraphs answer, the gateway copies every value of the answer into the
// shape the client asked for. The package does it with an argument object and a result
// object for every value it visits (two of each for a non-null one), and with two new
// arrays (a filter and its closure) per field per object to learn that the field has no
// @skip or @include. For a 9,000-point dashboard that is ~19 MB of garbage per answer
// (a sampling heap profile of `npm run bench:query`): the gateway's largest allocation
// by far, and the scavenges it causes. This port passes arguments positionally, hands
// flags back in one variable, skips the directive lookup for fields with none, and
// builds objects with fast properties (see Shaped). A subtree the fetch kept as text
// (rawSubtrees.ts) is the output as it is where the client selected exactly what was
// fetched (`clientSignature`); otherwise it is parsed here and shaped as usual.
//
// executeQueryPlan.js calls `resultShaping_1.computeResponse(...)`, reading the export
// at every call, so replacing the cached module's export reaches it.
// test/unit/resultShaping.test.ts runs both on the same answers and compares results
// and errors; it fails on any difference, so an upgrade that changes the original's
// rules shows up there.
import { createRequire } from 'node:module';
import path from 'node:path';
import { plainSignature, RawJSON } from './rawSubtrees.ts';

/** The parts of @apollo/federation-internals' element and type classes used here. */
interface TypeLike {
  name: string;
  ofType: TypeLike;
}
interface DirectiveLike {
  arguments(): { if: unknown };
}
interface ElementLike {
  appliedDirectives: readonly unknown[];
  appliedDirectivesOf(definition: unknown): DirectiveLike[];
  name: string;
  responseName(): string;
  definition: { type: TypeLike; isSchemaIntrospectionField(): boolean };
  typeCondition?: TypeLike;
}
interface SelectionLike {
  kind: 'FieldSelection' | 'FragmentSelection';
  element: ElementLike;
  selectionSet?: SelectionSetLike;
}
interface SelectionSetLike {
  selections(): readonly SelectionLike[];
}
interface SchemaLike {
  type(name: string): TypeLike | undefined;
  skipDirective(): unknown;
  includeDirective(): unknown;
  schemaDefinition: { rootType(kind: unknown): TypeLike };
}
interface OperationLike {
  schema(): SchemaLike;
  selectionSet: SelectionSetLike;
  rootKind: unknown;
  collectDefaultedVariableValues(): Record<string, unknown>;
}
type Output = Record<string, unknown>;
interface Parameters {
  schema: SchemaLike;
  variables: Record<string, unknown>;
  errors: unknown[];
  introspectionHandling: (selection: SelectionLike) => unknown;
}
export interface ComputeResponseArgs {
  operation: OperationLike;
  variables?: Record<string, unknown>;
  input: Output | null | undefined;
  introspectionHandling: (selection: SelectionLike) => unknown;
}
export type ComputeResponse = (args: ComputeResponseArgs) => {
  data: Output | null | undefined;
  errors: unknown[];
};

interface Federation {
  isNonNullType(type: unknown): boolean;
  isListType(type: unknown): boolean;
  isCompositeType(type: unknown): boolean;
  isObjectType(type: unknown): boolean;
  isEnumType(type: unknown): boolean;
  isSubtype(maybeSuper: unknown, maybeSub: unknown): boolean;
  isValidLeafValue(schema: SchemaLike, value: unknown, type: unknown): boolean;
  typenameFieldName: string;
  Variable: new (...args: never[]) => { name: string };
  ERRORS: { INVALID_GRAPHQL: { err(message: string, options: { path: unknown[] }): unknown } };
}

const gatewayRequire = createRequire(createRequire(import.meta.url).resolve('@apollo/gateway'));
/** As the gateway requires it: after federationInternals.ts, its flattened copy. */
const fed = gatewayRequire('@apollo/federation-internals') as Federation;
const {
  isNonNullType,
  isListType,
  isCompositeType,
  isObjectType,
  isEnumType,
  isSubtype,
  isValidLeafValue,
  typenameFieldName,
  ERRORS,
} = fed;

const OK = 0;
const NULL_BUBBLE_UP = 1;
/** What the original's `{ isInvalid, hasErrors }` result said, set by each updateOutputValue. */
const INVALID = 1;
const HAS_ERRORS = 2;
let flags = 0;

/**
 * The objects an answer is built of. The package makes them with Object.create(null),
 * so that a field aliased `__proto__` is a key like any other; but V8 keeps such
 * objects in dictionary mode, slower to fill and to stringify (~3.5 ms of a 9,000-point
 * answer). These inherit from one empty null-prototype object instead: Object.prototype
 * is not in their chain (so there is no `__proto__` setter to hit either), and objects
 * of one shape share fast properties.
 */
const Shaped = function () {} as unknown as new () => Output;
Shaped.prototype = Object.create(null);

/** What the package's `assert` throws when its condition is false. */
function fail(message: string): never {
  throw new Error(message);
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

export const computeResponse: ComputeResponse = ({
  operation,
  variables,
  input,
  introspectionHandling,
}) => {
  if (!input) return { data: input, errors: [] };
  const parameters: Parameters = {
    schema: operation.schema(),
    variables: {
      __proto__: null,
      ...operation.collectDefaultedVariableValues(),
      ...variables,
    } as Record<string, unknown>,
    errors: [],
    introspectionHandling,
  };
  const data = new Shaped();
  const res = applySelectionSet(
    input,
    operation.selectionSet,
    data,
    parameters,
    [],
    operation.schema().schemaDefinition.rootType(operation.rootKind),
    operation.selectionSet,
  );
  return { data: res === NULL_BUBBLE_UP ? null : data, errors: parameters.errors };
};

function shouldSkip(element: ElementLike, parameters: Parameters): boolean {
  if (element.appliedDirectives.length === 0) return false; // the common case: no directive
  const skip = element.appliedDirectivesOf(parameters.schema.skipDirective())[0];
  const include = element.appliedDirectivesOf(parameters.schema.includeDirective())[0];
  return (
    (skip !== undefined && ifValue(skip, parameters.variables)) ||
    (include !== undefined && !ifValue(include, parameters.variables))
  );
}

function ifValue(directive: DirectiveLike, variables: Record<string, unknown>): boolean {
  const ifArg = directive.arguments().if;
  if (ifArg instanceof fed.Variable) {
    const value = variables[ifArg.name];
    if (value === undefined || typeof value !== 'boolean') {
      fail(`Unexpected value ${value} for variable ${ifArg} of ${directive}`);
    }
    return value;
  }
  return ifArg as boolean;
}

function typeConditionApplies(
  schema: SchemaLike,
  typeCondition: TypeLike | undefined,
  typename: string | undefined,
  parentType: TypeLike,
): boolean {
  if (!typeCondition) return true;
  if (typename) {
    const type = schema.type(typename);
    return !!type && isSubtype(typeCondition, type);
  }
  return isSubtype(typeCondition, parentType);
}

/**
 * The response names that `selectionSet` (fragments included) selects more than once:
 * their outputs are merged from several selections, so none of them is taken raw.
 */
const repeatedNamesCache = new WeakMap<SelectionSetLike, ReadonlySet<string>>();
function repeatedResponseNames(selectionSet: SelectionSetLike): ReadonlySet<string> {
  let repeated = repeatedNamesCache.get(selectionSet);
  if (repeated === undefined) {
    const seen = new Set<string>();
    const found = new Set<string>();
    const visit = (set: SelectionSetLike) => {
      for (const selection of set.selections()) {
        if (selection.kind === 'FragmentSelection') visit(selection.selectionSet!);
        else {
          const name = selection.element.responseName();
          if (seen.has(name)) found.add(name);
          seen.add(name);
        }
      }
    };
    visit(selectionSet);
    repeated = found;
    repeatedNamesCache.set(selectionSet, repeated);
  }
  return repeated;
}

/**
 * The signature (rawSubtrees.ts) of a client's sub-selection, or null where a raw
 * subtree could not stand for its output: fragments, directives, aliases,
 * `__typename`, introspection, or an enum leaf (whose values are checked against the
 * supergraph here, not in the subgraph).
 */
const signatureCache = new WeakMap<SelectionSetLike, { signature: string | null }>();
function clientSignature(selectionSet: SelectionSetLike): string | null {
  let cached = signatureCache.get(selectionSet);
  if (cached === undefined) {
    const fields = [];
    let isPlain = true;
    for (const selection of selectionSet.selections()) {
      if (selection.kind !== 'FieldSelection') {
        isPlain = false;
        break;
      }
      const { element } = selection;
      let leaf = element.definition.type;
      while (isNonNullType(leaf) || isListType(leaf)) leaf = leaf.ofType;
      fields.push({
        name: element.name,
        isPlain:
          element.appliedDirectives.length === 0 &&
          element.responseName() === element.name &&
          element.name !== typenameFieldName &&
          !element.definition.isSchemaIntrospectionField() &&
          !isEnumType(leaf),
        inner: selection.selectionSet && clientSignature(selection.selectionSet),
      });
    }
    cached = { signature: isPlain ? plainSignature(fields) : null };
    signatureCache.set(selectionSet, cached);
  }
  return cached.signature;
}

function applySelectionSet(
  input: Output,
  selectionSet: SelectionSetLike,
  output: Output,
  parameters: Parameters,
  path: (string | number)[],
  parentType: TypeLike,
  /** The selection set (fragments included) whose fields fill `output`. */
  owner: SelectionSetLike,
): number {
  for (const selection of selectionSet.selections()) {
    if (shouldSkip(selection.element, parameters)) continue;
    if (selection.kind === 'FieldSelection') {
      const field = selection.element;
      const fieldType = field.definition.type;
      const responseName = field.responseName();
      const outputValue = output[responseName];
      if (field.definition.isSchemaIntrospectionField()) {
        if (outputValue === undefined) {
          output[responseName] = parameters.introspectionHandling(selection);
        }
        continue;
      }
      let inputValue = (hasOwn(input, responseName) ? input[responseName] : undefined) ?? null;
      if (inputValue instanceof RawJSON) {
        // the subgraph's text is this field's output when the client asked the same
        if (
          outputValue === undefined &&
          selection.selectionSet !== undefined &&
          !repeatedResponseNames(owner).has(responseName) &&
          clientSignature(selection.selectionSet) === inputValue.signature
        ) {
          output[responseName] = inputValue;
          continue;
        }
        inputValue = (inputValue.parse() ?? null) as NonNullable<unknown> | null;
      }
      if (field.name === typenameFieldName) {
        if (outputValue === undefined) {
          if (inputValue === null && responseName !== typenameFieldName) {
            inputValue = input[typenameFieldName] ?? null;
          }
          const type =
            inputValue !== null && typeof inputValue === 'string'
              ? (parameters.schema.type(inputValue) ?? parentType)
              : parentType;
          if (!isObjectType(type)) return NULL_BUBBLE_UP;
          output[responseName] = type.name;
        }
        continue;
      }
      path.push(responseName);
      const updated = updateOutputValue(
        outputValue,
        fieldType,
        inputValue,
        selection.selectionSet,
        path,
        parameters,
        parentType,
      );
      const invalid = (flags & INVALID) !== 0;
      output[responseName] = updated;
      path.pop();
      if (invalid) return NULL_BUBBLE_UP;
    } else {
      const fragment = selection.element;
      const typename = input[typenameFieldName];
      if (typename && typeof typename !== 'string') {
        fail(`Got unexpected value for __typename: ${typename}`);
      }
      if (
        typeConditionApplies(
          parameters.schema,
          fragment.typeCondition,
          typename as string | undefined,
          parentType,
        )
      ) {
        const res = applySelectionSet(
          input,
          selection.selectionSet!,
          output,
          parameters,
          path,
          fragment.typeCondition ?? parentType,
          owner,
        );
        if (res === NULL_BUBBLE_UP) return NULL_BUBBLE_UP;
      }
    }
  }
  return OK;
}

function pathLastElementDescription(
  path: (string | number)[],
  currentType: TypeLike,
  parentType: TypeLike,
): string {
  const element = path[path.length - 1];
  if (element === undefined) fail('Should not have been called on an empty path');
  return typeof element === 'string'
    ? `field ${parentType}.${element}`
    : `array element of type ${currentType} at index ${element}`;
}

/** The value to keep at `path`; `flags` says whether it is invalid and whether errors were recorded. */
function updateOutputValue(
  outputValue: unknown,
  type: TypeLike,
  inputValue: unknown,
  selectionSet: SelectionSetLike | undefined,
  path: (string | number)[],
  parameters: Parameters,
  parentType: TypeLike,
): unknown {
  if (inputValue === undefined) fail('Should not pass undefined for `inputValue` to this method');
  if (outputValue === null || (outputValue !== undefined && !selectionSet)) {
    flags = 0;
    return outputValue;
  }
  if (isNonNullType(type)) {
    const updated = updateOutputValue(
      outputValue,
      type.ofType,
      inputValue,
      selectionSet,
      path,
      parameters,
      parentType,
    );
    if (updated === null) {
      if ((flags & HAS_ERRORS) === 0) {
        parameters.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Cannot return null for non-nullable ${pathLastElementDescription(path, type.ofType, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
      }
      flags = INVALID | HAS_ERRORS;
      return updated;
    }
    flags = 0;
    return updated;
  }
  if (inputValue === null) {
    flags = 0;
    return null;
  }
  if (isListType(type)) {
    if (!Array.isArray(inputValue)) {
      fail(`Invalid non-list value ${inputValue} returned by subgraph for list type ${type}`);
    }
    if (outputValue !== undefined && !Array.isArray(outputValue)) {
      fail(`Invalid non-list value ${outputValue} returned by subgraph for list type ${type}`);
    }
    const outputList = outputValue as unknown[] | undefined;
    if (outputList !== undefined && inputValue.length !== outputList.length) {
      fail(
        `[${inputValue}].length (${inputValue.length}) !== [${outputList}].length (${outputList.length})`,
      );
    }
    let shouldNullify = false;
    let hasErrors = false;
    const updated: unknown[] = [];
    for (let idx = 0; idx < inputValue.length; idx++) {
      path.push(idx);
      updated.push(
        updateOutputValue(
          outputList === undefined ? undefined : outputList[idx],
          type.ofType,
          inputValue[idx],
          selectionSet,
          path,
          parameters,
          parentType,
        ),
      );
      path.pop();
      if ((flags & INVALID) !== 0) shouldNullify = true;
      if ((flags & HAS_ERRORS) !== 0) hasErrors = true;
    }
    flags = hasErrors ? HAS_ERRORS : 0;
    return shouldNullify ? null : updated;
  }
  if (isCompositeType(type)) {
    if (!selectionSet) fail(`Invalid empty selection set for composite type ${type}`);
    if (typeof inputValue !== 'object') {
      fail(
        `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`,
      );
    }
    if (outputValue !== undefined && typeof outputValue !== 'object') {
      fail(
        `Invalid non-object value ${inputValue} returned by subgraph for composite type ${type}`,
      );
    }
    const input = inputValue as Output;
    const inputTypename = input[typenameFieldName];
    if (inputTypename !== undefined && typeof inputTypename !== 'string') {
      fail(`Invalid non-string value ${inputTypename} for __typename at ${path}`);
    }
    let objType = type;
    if (inputTypename) {
      const typenameType = parameters.schema.type(inputTypename);
      if (!typenameType || !isCompositeType(typenameType)) {
        parameters.errors.push(
          ERRORS.INVALID_GRAPHQL.err(
            `Invalid __typename found for object at ${pathLastElementDescription(path, type, parentType)}.`,
            { path: Array.from(path) },
          ),
        );
        flags = HAS_ERRORS;
        return null;
      }
      objType = typenameType;
    }
    const outputObject: Output = outputValue === undefined ? new Shaped() : (outputValue as Output);
    const res = applySelectionSet(
      input,
      selectionSet,
      outputObject,
      parameters,
      path,
      objType,
      selectionSet,
    );
    const hasErrors = res === NULL_BUBBLE_UP;
    flags = hasErrors ? HAS_ERRORS : 0;
    return hasErrors ? null : outputObject;
  }
  if (outputValue !== undefined) {
    fail(`Excepted output to be undefined but got ${type} for type ${type}`);
  }
  const isValidValue = isValidLeafValue(parameters.schema, inputValue, type);
  if (!isValidValue) {
    parameters.errors.push(
      ERRORS.INVALID_GRAPHQL.err(
        `Invalid value found for ${pathLastElementDescription(path, type, parentType)}.`,
        { path: Array.from(path) },
      ),
    );
  }
  flags = isValidValue ? 0 : HAS_ERRORS;
  return isValidValue ? inputValue : null;
}

/** Apollo Gateway's own module, whose `computeResponse` executeQueryPlan.js calls. */
const shapingModule = gatewayRequire(
  path.join(path.dirname(gatewayRequire.resolve('@apollo/gateway')), 'resultShaping.js'),
) as { computeResponse: ComputeResponse };
/** The package's own function (kept for the equivalence test). */
export const originalComputeResponse: ComputeResponse = shapingModule.computeResponse;
shapingModule.computeResponse = computeResponse;
