import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync, type ValidationError } from 'class-validator';
import type { OrderRequest } from '../contract/order.js';
import type { FieldError } from '../contract/problem.js';
import { assertConstraintCodes, firstFailure } from './constraint-codes.js';
import { OrderLineDto, OrderRequestDto } from './order-request.dto.js';
import { isObject } from '../json-value.js';

export type OrderCheck = { valid: true; order: OrderRequest } | { valid: false; errors: FieldError[] };

// At load, so that a constraint without a documented code fails the tests and the function's start, never a request.
assertConstraintCodes([OrderRequestDto, OrderLineDto]);

const escapePointerToken = (token: string): string => token.replaceAll('~', '~0').replaceAll('/', '~1');

function toFieldErrors(errors: readonly ValidationError[], parentPath: string): FieldError[] {
  return errors.flatMap((error) => {
    const path = `${parentPath}/${escapePointerToken(error.property)}`;
    const own: FieldError[] = [];
    const constraints = error.constraints ?? {};
    const first = firstFailure(constraints);
    if (first) {
      const { constraint, code } = first;
      // class-validator words a nested type error about the whole array; the path already names the line.
      const message = constraint === 'nestedValidation' ? 'must be a JSON object' : constraints[constraint];
      own.push({ path, code, message: message ?? code });
    } else if (Object.keys(constraints).length > 0) {
      // Every constraint the DTOs declare has a code (checked at load): anything else is a defect, not a bad request.
      throw new Error(`class-validator reported constraints without a code: ${Object.keys(constraints).join(', ')}`);
    }
    return [...own, ...toFieldErrors(error.children ?? [], path)];
  });
}

/** The members a DTO declares, read from its decorators, so that this list cannot drift from the class. */
const declaredMembers = (dto: new () => object): ReadonlySet<string> =>
  new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .map((meta) => meta.propertyName),
  );
const ORDER_MEMBERS = declaredMembers(OrderRequestDto);
const LINE_MEMBERS = declaredMembers(OrderLineDto);

/** Names JSON.parse makes own members of, where class-validator and class-transformer expect Object.prototype's. */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

const unknownMember = (path: string, name: string): FieldError => ({
  path: `${path}/${escapePointerToken(name)}`,
  code: 'unknown_property',
  message: `property ${name} should not exist`,
});

/**
 * What class-validator and class-transformer cannot be trusted with, checked on the parsed value itself:
 * - members named like Object.prototype's (`__proto__`, `constructor`, `toString`), at any depth: the whitelist
 *   does not see them, and class-transformer throws on a nested `constructor`;
 * - members the DTOs do not declare, on the order and on its lines;
 * - a line that is an array: nested validation walks into it instead of refusing it.
 * Returns the errors, and the value without its prototype-named members, safe to hand to class-transformer.
 */
function structuralCheck(value: Record<string, unknown>): { errors: FieldError[]; safe: Record<string, unknown> } {
  const errors: FieldError[] = [];
  const withoutPrototypeNames = (node: unknown, path: string): unknown => {
    if (Array.isArray(node)) return node.map((item, index) => withoutPrototypeNames(item, `${path}/${index}`));
    if (!isObject(node)) return node;
    return Object.fromEntries(
      Object.entries(node).flatMap(([name, member]) => {
        if (!PROTOTYPE_NAMES.has(name))
          return [[name, withoutPrototypeNames(member, `${path}/${escapePointerToken(name)}`)]];
        errors.push(unknownMember(path, name));
        return [];
      }),
    );
  };
  const safe = withoutPrototypeNames(value, '') as Record<string, unknown>;
  const undeclared = (object: Record<string, unknown>, allowed: ReadonlySet<string>, path: string) =>
    Object.keys(object)
      .filter((name) => !allowed.has(name))
      .forEach((name) => errors.push(unknownMember(path, name)));
  undeclared(safe, ORDER_MEMBERS, '');
  const lines = Array.isArray(safe.items) ? safe.items : [];
  lines.forEach((line, index) => {
    if (isObject(line)) undeclared(line, LINE_MEMBERS, `/items/${index}`);
    else if (Array.isArray(line))
      errors.push({ path: `/items/${index}`, code: 'type', message: 'must be a JSON object' });
  });
  return { errors, safe };
}

/** Checks a parsed JSON value against the v1 contract and names every failing field. */
export function checkOrderRequest(value: unknown): OrderCheck {
  if (!isObject(value)) {
    return { valid: false, errors: [{ path: '', code: 'type', message: 'body must be a JSON object' }] };
  }
  const structural = structuralCheck(value);
  const reported = new Set(structural.errors.map((error) => error.path));
  const dto = plainToInstance(OrderRequestDto, structural.safe);
  const violations = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true });
  const errors = [...structural.errors, ...toFieldErrors(violations, '').filter((error) => !reported.has(error.path))];
  if (errors.length > 0) return { valid: false, errors };
  // The checked plain value, not the DTO instance: canonical hashing and storage want plain JSON, and every member
  // of it has now been checked.
  return { valid: true, order: value as unknown as OrderRequest };
}
