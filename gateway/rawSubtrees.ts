// Subgraph answers' plain subtrees, carried through the gateway as JSON text.
//
// A 9,000-point dashboard answer is ~1 MB of JSON that the gateway used to parse into
// ~100,000 objects, copy value by value into the client's shape (resultShaping.ts) and
// serialise again: in `BENCH_CPU_PROF` profiles of `npm run bench:query`, ~35 ms of CPU
// per answer plus the collections its garbage caused, most of what the gateway added
// to a request sent to the OLAP subgraph directly. None of it changes a byte of the
// `points` list: the subgraph already executed that selection, with the same field
// names, the same leaf serialisation and the same non-null rules.
//
// So the gateway keeps such a subtree as its text:
// 1. Fetch (subgraphFetch.ts): the subgraph query names which fields are "plain": a
//    selection of fields only, without aliases, `__typename`, fragments, directives or
//    duplicates inside (`rawFieldPlan`). A scanner walks the answer down to those fields
//    and puts a `RawJSON` (the field's bytes and its selection's signature) in place of
//    each; the rest of the answer (the entity skeleton) is parsed as usual.
// 2. Shaping (resultShaping.ts): where the client's selection of that field has the
//    same signature (and no enum leaf, whose values the gateway checks against the
//    supergraph), the RawJSON is the output; otherwise its text is parsed and shaped as
//    before. Query-plan merges (`deepMerge`) see parsed values wherever they would
//    merge into a RawJSON.
// 3. Serialising (`serializeWithRawSubtrees`): the response is put together as bytes,
//    each RawJSON's bytes copied in as the subgraph sent them (responseBytes.ts sends
//    them in place of Apollo's response string).
//
// Anything else that serialises a RawJSON gets its parsed value (toJSON), so the
// placeholder never leaks as such. A subtree the query plan must read further (to
// build representations for a later fetch) always carries `__typename`, so it is
// never raw; nor is a field with a sub-selection in a `@key` or `@requires` field set
// of the supergraph (`fieldSetNames`).
import { randomBytes } from 'node:crypto';
import {
  Kind,
  parse,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { LRUCache } from 'lru-cache';

/**
 * Subtrees kept unparsed since the process started: sent to a client as the subgraph
 * wrote them, or parsed after all (the client's selection differed, or a query-plan
 * merge or another serialiser needed the value). Served as a gateway metric.
 */
export const rawSubtreeCounts = { passed: 0, parsed: 0 };

/** A subtree kept as the JSON text the subgraph sent, as its UTF-8 bytes. */
export class RawJSON {
  constructor(
    /** The subtree's JSON, as the subgraph wrote it (a view into the answer's bytes). */
    readonly bytes: Buffer,
    /** Its selection's field names and nesting (see `plainSignature`). */
    readonly signature: string,
  ) {}

  /** The subtree as a value. */
  parse(): unknown {
    rawSubtreeCounts.parsed += 1;
    return JSON.parse(this.bytes.toString('utf8'));
  }

  /** The parsed value; a placeholder only while `serializeWithRawSubtrees` splices. */
  toJSON(): unknown {
    if (splicing === null) return this.parse();
    splicing.push(this.bytes);
    return MARKER;
  }
}

/** Bytes met by the serialisation in progress, in order; null outside one. */
let splicing: Buffer[] | null = null;
/** Stands for a RawJSON in a serialisation; nobody else knows the nonce. */
const MARKER = `tidemark-raw-${randomBytes(12).toString('hex')}`;
const QUOTED_MARKER = JSON.stringify(MARKER);

/**
 * JSON.stringify(value) + suffix, with every RawJSON's bytes as its subtree: as a
 * string when `value` holds none, else as UTF-8 byte pieces to send in order, without
 * decoding the kept subtrees or encoding them again. The pieces are not joined: a
 * 9,000-point answer is ~0.9 MB, and joining it into a fresh buffer, page by page,
 * doubled the CPU of sending it (0.8–1.0 ms against 0.45–0.5 ms, side by side in one
 * run); the socket takes the pieces as they are, in one writev (responseBytes.ts).
 */
export function serializeWithRawSubtrees(value: unknown, suffix = ''): string | Buffer[] {
  const raws: Buffer[] = [];
  splicing = raws;
  let json: string;
  try {
    json = JSON.stringify(value);
  } finally {
    splicing = null;
  }
  if (raws.length === 0) return json + suffix;
  const parts = json.split(QUOTED_MARKER);
  // Each marker came from one RawJSON; anything else would be a bug: serialise plainly.
  if (parts.length !== raws.length + 1) return JSON.stringify(value) + suffix;
  rawSubtreeCounts.passed += raws.length;
  const pieces: Buffer[] = [Buffer.from(parts[0]!)];
  for (let i = 0; i < raws.length; i++) pieces.push(raws[i]!, Buffer.from(parts[i + 1]!));
  pieces.push(Buffer.from(suffix));
  return pieces;
}

/** Where raw fields sit in an answer: response name → deeper plan or a raw field. */
export type RawFieldPlan = Map<string, RawFieldPlan | { signature: string }>;

/**
 * The signature of a plain selection: its field names in order, each with its own
 * sub-selection's signature in braces; null when the selection is not plain. Both
 * sides (the subgraph query here, the client's operation in resultShaping.ts) write it
 * the same way, so equal signatures mean the same keys in the same order.
 */
export function plainSignature(
  fields: readonly { name: string; isPlain: boolean; inner: string | null | undefined }[],
): string | null {
  const names = new Set<string>();
  let signature = '';
  for (const { name, isPlain, inner } of fields) {
    if (!isPlain || inner === null || names.has(name)) return null;
    names.add(name);
    if (signature !== '') signature += ',';
    signature += inner === undefined ? name : `${name}{${inner}}`;
  }
  return signature === '' ? null : signature;
}

function selectionSignature(set: SelectionSetNode, excluded: ReadonlySet<string>): string | null {
  const fields = [];
  for (const selection of set.selections) {
    if (selection.kind !== Kind.FIELD) return null;
    const name = selection.name.value;
    fields.push({
      name,
      isPlain:
        selection.alias === undefined &&
        !selection.directives?.length &&
        name !== '__typename' &&
        !excluded.has(name),
      inner: selection.selectionSet && selectionSignature(selection.selectionSet, excluded),
    });
  }
  return plainSignature(fields);
}

function collectFields(
  sets: readonly SelectionSetNode[],
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  into: Map<string, FieldNode[]>,
): void {
  for (const set of sets) {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) {
        const key = selection.alias?.value ?? selection.name.value;
        const list = into.get(key);
        if (list) list.push(selection);
        else into.set(key, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collectFields([selection.selectionSet], fragments, into);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment) collectFields([fragment.selectionSet], fragments, into);
      }
    }
  }
}

function planFor(
  sets: readonly SelectionSetNode[],
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  excluded: ReadonlySet<string>,
): RawFieldPlan | null {
  const byKey = new Map<string, FieldNode[]>();
  collectFields(sets, fragments, byKey);
  const plan: RawFieldPlan = new Map();
  for (const [key, fields] of byKey) {
    const subSets = fields.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
    if (subSets.length === 0) continue; // leaves: nothing to gain
    const signatures = fields.map((f) =>
      f.selectionSet && !f.directives?.length && !excluded.has(f.name.value)
        ? selectionSignature(f.selectionSet, excluded)
        : null,
    );
    const signature = signatures[0];
    if (signature != null && signatures.every((s) => s === signature)) {
      plan.set(key, { signature });
    } else {
      const deeper = planFor(subSets, fragments, excluded);
      if (deeper) plan.set(key, deeper);
    }
  }
  return plan.size > 0 ? plan : null;
}

/**
 * Which fields of the answer to `query` to keep as text; null when none (or when the
 * query does not parse: the answer is then parsed whole, as it would be anyway).
 */
export function rawFieldPlan(query: string, excluded: ReadonlySet<string>): RawFieldPlan | null {
  let document;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return null;
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  const operations = [];
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION) operations.push(definition);
  }
  // A subgraph fetch is one operation; with several, which one runs is not known here.
  if (operations.length !== 1) return null;
  return planFor([operations[0]!.selectionSet], fragments, excluded);
}

/** `rawFieldPlan`, remembered per query text (a query plan sends the same few texts). */
export function rawFieldPlans(
  excluded: ReadonlySet<string>,
  maxQueries = 1000,
): (query: string) => RawFieldPlan | null {
  const plans = new LRUCache<string, { plan: RawFieldPlan | null }>({ max: maxQueries });
  return (query) => {
    let entry = plans.get(query);
    if (entry === undefined) {
      entry = { plan: rawFieldPlan(query, excluded) };
      plans.set(query, entry);
    }
    return entry.plan;
  };
}

/**
 * Names of the fields with a sub-selection in the supergraph's `key` and `requires`
 * field sets: the query plan reads those out of answers to build the next fetch's
 * representations, so they are never kept raw. (Leaves are never raw anyway, and the
 * entities holding them carry `__typename`.)
 */
export function fieldSetNames(supergraphSdl: string): Set<string> {
  const names = new Set<string>();
  for (const [, fieldSet] of supergraphSdl.matchAll(/\b(?:key|requires):\s*"((?:[^"\\]|\\.)*)"/g)) {
    for (const [, name] of JSON.parse(`"${fieldSet}"`).matchAll(/([_A-Za-z][_0-9A-Za-z]*)\s*\{/g))
      names.add(name);
  }
  return names;
}

// ---- the scanner ------------------------------------------------------------------

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

class Malformed extends Error {}

/**
 * What a byte means to `endOfValue`, looked up in one table: most bytes of an answer
 * (digits, letters) are OTHER, and one load and compare per byte skips them where four
 * compares did. `parseWithRawFields` of a 9,000-point answer, old and new scanner
 * alternating in one process (a scratch script, 2026-12-07, p50 of 8 × 100): 2.15
 * instead of 2.55 ms for `points`, 1.52 instead of 1.85 ms for `columns`.
 */
const OTHER = 0;
const STRING = 1;
const OPENS = 2;
const CLOSES = 3;
const STRUCTURE = new Uint8Array(256);
STRUCTURE[QUOTE] = STRING;
STRUCTURE[OPEN_BRACE] = OPENS;
STRUCTURE[OPEN_BRACKET] = OPENS;
STRUCTURE[CLOSE_BRACE] = CLOSES;
STRUCTURE[CLOSE_BRACKET] = CLOSES;

/**
 * Reads a JSON answer's UTF-8 bytes, cutting the planned fields out as RawJSON (see
 * `parseWithRawFields`). Bytes, not a decoded string: JSON's structure is all ASCII,
 * which never occurs inside a multi-byte UTF-8 sequence, and indexed reads of a Buffer
 * stay fast where `charCodeAt` did not. In the gateway process (measured: with ioredis
 * loaded, whose `class … extends String` seems to cost V8 its fast `charCodeAt`) a
 * string scanner took 9 ms per 9,000-point answer, twice JSON.parse; this one takes
 * 1.5 ms with or without ioredis (JSON.parse of the same bytes: 4 ms).
 */
class Scanner {
  /** Pieces of the answer with every raw field replaced by `"<MARKER><index>"`. */
  private readonly reduced: string[] = [];
  private copiedUpTo = 0;
  readonly raws: RawJSON[] = [];

  constructor(private readonly bytes: Buffer) {}

  skipSpace(i: number): number {
    const bytes = this.bytes;
    for (; i < bytes.length; i++) {
      const c = bytes[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    }
    return i;
  }

  /** The index after the string that starts at `i` (a quote). */
  private endOfString(i: number): number {
    const bytes = this.bytes;
    const length = bytes.length;
    for (i++; i < length; i++) {
      const c = bytes[i];
      if (c === QUOTE) return i + 1;
      if (c === BACKSLASH) i++; // the escaped character, whatever it is
    }
    throw new Malformed();
  }

  /** The index after the value that starts at `i`, without looking inside it. */
  private endOfValue(i: number): number {
    const bytes = this.bytes;
    const length = bytes.length;
    const first = bytes[i];
    if (first === QUOTE) return this.endOfString(i);
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
      // a number or a literal: up to the next delimiter
      for (; i < length; i++) {
        const c = bytes[i]!;
        if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || c <= 0x20) return i;
      }
      return i;
    }
    let depth = 0;
    for (; i < length; i++) {
      const kind = STRUCTURE[bytes[i]!]!;
      if (kind === OTHER) continue;
      if (kind === STRING) {
        // the string, inline (as in endOfString)
        for (i++; i < length; i++) {
          const d = bytes[i];
          if (d === QUOTE) break;
          if (d === BACKSLASH) i++;
        }
      } else if (kind === OPENS) depth++;
      else if (--depth === 0) return i + 1; // CLOSES: the one kind left
    }
    throw new Malformed();
  }

  /** Walks the value at `i` along `plan`; returns the index after it. */
  walk(i: number, plan: RawFieldPlan): number {
    const bytes = this.bytes;
    const first = bytes[i];
    if (first === OPEN_BRACKET) {
      i = this.skipSpace(i + 1);
      if (bytes[i] === CLOSE_BRACKET) return i + 1;
      for (;;) {
        i = this.skipSpace(this.walk(i, plan));
        const c = bytes[i];
        if (c === CLOSE_BRACKET) return i + 1;
        if (c !== COMMA) throw new Malformed();
        i = this.skipSpace(i + 1);
      }
    }
    if (first !== OPEN_BRACE) return this.endOfValue(i);
    i = this.skipSpace(i + 1);
    if (bytes[i] === CLOSE_BRACE) return i + 1;
    for (;;) {
      if (bytes[i] !== QUOTE) throw new Malformed();
      const keyEnd = this.endOfString(i);
      // GraphQL names need no escapes
      const key = bytes.toString('utf8', i + 1, keyEnd - 1);
      i = this.skipSpace(keyEnd);
      if (bytes[i] !== COLON) throw new Malformed();
      i = this.skipSpace(i + 1);
      const next = plan.get(key);
      if (next === undefined) i = this.endOfValue(i);
      else if (next instanceof Map) i = this.walk(i, next);
      else i = this.cut(i, next.signature);
      i = this.skipSpace(i);
      const c = bytes[i];
      if (c === CLOSE_BRACE) return i + 1;
      if (c !== COMMA) throw new Malformed();
      i = this.skipSpace(i + 1);
    }
  }

  /** Keeps the object or list at `i` as a RawJSON (null and others stay as they are). */
  private cut(i: number, signature: string): number {
    const end = this.endOfValue(i);
    const first = this.bytes[i];
    if (first !== OPEN_BRACE && first !== OPEN_BRACKET) return end;
    this.reduced.push(
      this.bytes.toString('utf8', this.copiedUpTo, i),
      `"${MARKER}${this.raws.length}"`,
    );
    this.copiedUpTo = end;
    this.raws.push(new RawJSON(this.bytes.subarray(i, end), signature));
    return end;
  }

  reducedText(): string {
    return this.reduced.join('') + this.bytes.toString('utf8', this.copiedUpTo);
  }
}

/**
 * JSON.parse of a GraphQL answer's UTF-8 bytes (`{"data": …, "errors": …}`), with the
 * fields `plan` names under `data` kept as RawJSON. Text the scanner cannot follow is
 * left to JSON.parse, which then throws as it would have.
 */
export function parseWithRawFields(bytes: Buffer, plan: RawFieldPlan): unknown {
  const scanner = new Scanner(bytes);
  try {
    scanner.walk(scanner.skipSpace(0), new Map([['data', plan]]));
  } catch (err) {
    if (err instanceof Malformed) return JSON.parse(bytes.toString('utf8'));
    throw err;
  }
  const { raws } = scanner;
  if (raws.length === 0) return JSON.parse(bytes.toString('utf8'));
  return JSON.parse(scanner.reducedText(), (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(MARKER)
      ? raws[Number(value.slice(MARKER.length))]
      : value,
  );
}
