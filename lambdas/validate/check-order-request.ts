import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import type { OrderRequest } from '../../src/contract/order.js';
import type { FieldError } from '../../src/contract/problem.js';
import { OrderRequestDto } from './order-request.dto.js';

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

/** Checks a parsed JSON value against the v1 contract and names every failing field. */
export function checkOrderRequest(value: unknown): OrderCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { valid: false, errors: [{ path: '', code: 'type', message: 'body must be a JSON object' }] };
  }
  const dto = plainToInstance(OrderRequestDto, value);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  if (errors.length > 0) return { valid: false, errors: toFieldErrors(errors, '') };
  // The checked plain value, not the DTO instance: canonical hashing and storage want plain JSON.
  return { valid: true, order: value as OrderRequest };
}
