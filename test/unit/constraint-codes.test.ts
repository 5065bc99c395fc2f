import { describe, expect, it } from '@jest/globals';
import { IsEmail, IsOptional, IsString, ValidateBy } from 'class-validator';
import { assertConstraintCodes } from '../../src/validation/constraint-codes.js';
import { OrderLineDto, OrderRequestDto } from '../../src/validation/order-request.dto.js';

class WithUncodedConstraint {
  @IsString()
  @IsEmail()
  contact!: string;
}

class WithUncodedCustomConstraint {
  @ValidateBy({ name: 'isEven', validator: { validate: (value) => typeof value === 'number' && value % 2 === 0 } })
  count!: number;
}

class WithConditionOnly {
  @IsOptional()
  @IsString()
  note?: string;
}

describe('field error codes of class-validator constraints', () => {
  it('cover every constraint of the order DTOs', () => {
    expect(() => assertConstraintCodes([OrderRequestDto, OrderLineDto])).not.toThrow();
  });

  it('are missing for a built-in constraint the catalogue lacks: the check throws and names it', () => {
    expect(() => assertConstraintCodes([OrderRequestDto, WithUncodedConstraint])).toThrow(
      /WithUncodedConstraint\.contact: isEmail/,
    );
  });

  it('are missing for a custom constraint: the check throws and names it', () => {
    expect(() => assertConstraintCodes([WithUncodedCustomConstraint])).toThrow(
      /WithUncodedCustomConstraint\.count: isEven/,
    );
  });

  it('are not needed for a condition, which class-validator never reports as a failure', () => {
    expect(() => assertConstraintCodes([WithConditionOnly])).not.toThrow();
  });
});
