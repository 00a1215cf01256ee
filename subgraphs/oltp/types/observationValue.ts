import { GraphQLScalarType, Kind } from 'graphql';

/** A number, string or boolean: the value of one observation. */
export const ObservationValueScalar = new GraphQLScalarType<
  number | string | boolean,
  number | string | boolean
>({
  name: 'ObservationValue',
  description: 'A number, string or boolean, matching the attribute type.',
  serialize: (v) => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    throw new TypeError('ObservationValue must be a number, string or boolean');
  },
  parseValue: (v) => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
    throw new TypeError('ObservationValue must be a number, string or boolean');
  },
  parseLiteral: (ast) => {
    switch (ast.kind) {
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.STRING:
        return ast.value;
      case Kind.BOOLEAN:
        return ast.value;
      default:
        throw new TypeError('ObservationValue must be a number, string or boolean');
    }
  },
});
