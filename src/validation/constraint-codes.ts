/**
 * The field error code of each class-validator constraint. A DTO constraint without one would reach clients as
 * class-validator's own name, a code the contract does not document, so `assertConstraintCodes` refuses it when
 * the validating module loads rather than when a client first trips it.
 */
import { getMetadataStorage, ValidationTypes } from 'class-validator';
import type { FieldErrorCode } from '../contract/problem.js';

/**
 * class-validator reports every failed constraint of a property; a client needs one reason per field, the most
 * basic first (a missing field is not also "not a string"). The order of this list is that priority.
 */
const CONSTRAINT_CODES: readonly (readonly [constraint: string, code: FieldErrorCode])[] = [
  ['isDefined', 'required'],
  // Reported for a member the DTO does not declare (validateSync's forbidNonWhitelisted), never declared itself.
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

const CODED: ReadonlySet<string> = new Set(CONSTRAINT_CODES.map(([constraint]) => constraint));

/** The most basic of a property's failed constraints (class-validator's `constraints`: name -> message). */
export function firstFailure(
  constraints: Readonly<Record<string, string>>,
): { constraint: string; code: FieldErrorCode } | undefined {
  const first = CONSTRAINT_CODES.find(([constraint]) => constraint in constraints);
  return first && { constraint: first[0], code: first[1] };
}

type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

/** Metadata that decides whether a property is validated at all; class-validator never reports it as a failure. */
const NEVER_REPORTED: ReadonlySet<string> = new Set([
  ValidationTypes.CONDITIONAL_VALIDATION,
  ValidationTypes.WHITELIST,
]);

/** The names under which class-validator reports a failure of this metadata, as its ValidationExecutor names them. */
function reportedNames(metadata: ValidationMetadata): string[] {
  if (NEVER_REPORTED.has(metadata.type)) return [];
  const validators = metadata.constraintCls
    ? getMetadataStorage().getTargetValidatorConstraints(metadata.constraintCls)
    : [];
  return validators.length > 0 ? validators.map((validator) => validator.name || metadata.type) : [metadata.type];
}

/** Throws, naming each one, if a constraint of these DTOs has no field error code. */
export function assertConstraintCodes(dtos: readonly (new () => object)[]): void {
  const uncoded = dtos.flatMap((dto) =>
    getMetadataStorage()
      .getTargetValidationMetadatas(dto, '', true, false)
      .flatMap((metadata) =>
        reportedNames(metadata)
          .filter((name) => !CODED.has(name))
          .map((name) => `${dto.name}.${metadata.propertyName}: ${name}`),
      ),
  );
  if (uncoded.length > 0) {
    throw new Error(
      `constraints without a field error code (add them to CONSTRAINT_CODES and FIELD_ERROR_CODES): ${uncoded.join(', ')}`,
    );
  }
}
