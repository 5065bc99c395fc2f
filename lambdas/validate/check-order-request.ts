import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import type { OrderRequest } from '../../src/contract/order.js';
import type { FieldError } from '../../src/contract/problem.js';
import { OrderLineDto, OrderRequestDto } from './order-request.dto.js';

export type OrderCheck = { valid: true; order: OrderRequest } | { valid: false; errors: FieldError[] };

/**
 * class-validator reports every failed constraint of a property; a client needs one reason per field, the most
 * basic first (a missing field is not also "not a string").
 */
const CONSTRAINT_CODES: readonly (readonly [constraint: string, code: string])[] = [
  ['isDefined', 'required'],
  ['whitelistValidation', 'unknown_property'],
  ['isArray', 'type'],
  ['nestedValidation', 'type'],
  ['isString', 'type'],
  ['isInt', 'integer'],
  ['arrayMinSize', 'min_items'],
  ['arrayMaxSize', 'max_items'],
  ['arrayUnique', 'duplicate'],
  ['matches', 'pattern'],
  ['min', 'minimum'],
  ['max', 'maximum'],
];

const escapePointerToken = (token: string): string => token.replaceAll('~', '~0').replaceAll('/', '~1');

function toFieldErrors(errors: readonly ValidationError[], parentPath: string): FieldError[] {
  return errors.flatMap((error) => {
    const path = `${parentPath}/${escapePointerToken(error.property)}`;
    const own: FieldError[] = [];
    const constraints = error.constraints ?? {};
    const first = CONSTRAINT_CODES.find(([constraint]) => constraint in constraints);
    if (first) {
      const [constraint, code] = first;
      // class-validator words a nested type error about the whole array; the path already names the line.
      const message = constraint === 'nestedValidation' ? 'must be a JSON object' : constraints[constraint];
      own.push({ path, code, message: message ?? code });
    } else {
      const [constraint, message] = Object.entries(constraints)[0] ?? [];
      if (constraint) own.push({ path, code: constraint, message: message ?? constraint });
    }
    return [...own, ...toFieldErrors(error.children ?? [], path)];
  });
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The members a DTO declares, read from its decorators, so that this list cannot drift from the class. */
const declaredMembers = (dto: new () => object): ReadonlySet<string> =>
  new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .map((meta) => meta.propertyName),
  );
const ORDER_MEMBERS = declaredMembers(OrderRequestDto);
const LINE_MEMBERS = declaredMembers(OrderLineDto);

/**
 * class-validator's whitelist does not see members named like Object.prototype's (`__proto__`, `constructor`,
 * `toString`), which JSON.parse creates as own members: they are caught here, from the parsed value itself.
 */
function unknownMembers(value: Record<string, unknown>): FieldError[] {
  const unknownIn = (object: Record<string, unknown>, allowed: ReadonlySet<string>, path: string): FieldError[] =>
    Object.keys(object)
      .filter((name) => !allowed.has(name))
      .map((name) => ({
        path: `${path}/${escapePointerToken(name)}`,
        code: 'unknown_property',
        message: `property ${name} should not exist`,
      }));
  const lines = Array.isArray(value.items) ? value.items : [];
  return [
    ...unknownIn(value, ORDER_MEMBERS, ''),
    ...lines.flatMap((line, index) => (isObject(line) ? unknownIn(line, LINE_MEMBERS, `/items/${index}`) : [])),
  ];
}

/** Checks a parsed JSON value against the v1 contract and names every failing field. */
export function checkOrderRequest(value: unknown): OrderCheck {
  if (!isObject(value)) {
    return { valid: false, errors: [{ path: '', code: 'type', message: 'body must be a JSON object' }] };
  }
  const unknown = unknownMembers(value);
  const reported = new Set(unknown.map((error) => error.path));
  const dto = plainToInstance(OrderRequestDto, value);
  const violations = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  const errors = [...unknown, ...toFieldErrors(violations, '').filter((error) => !reported.has(error.path))];
  if (errors.length > 0) return { valid: false, errors };
  // The checked plain value, not the DTO instance: canonical hashing and storage want plain JSON, and every member
  // of it has now been checked.
  return { valid: true, order: value as unknown as OrderRequest };
}
