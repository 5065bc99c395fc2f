/**
 * class-validator DTOs of the v1 order contract. They must agree with src/contract/order.schema.json; the agreement
 * test (test/unit/contract-agreement.test.ts) holds them to it.
 */
// class-transformer's @Type reads design-time metadata through the Reflect API.
import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsDefined,
  IsInt,
  IsString,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import {
  CLIENT_REFERENCE_PATTERN,
  CUSTOMER_ID_PATTERN,
  MAX_LINES,
  MAX_QUANTITY,
  MIN_LINES,
  MIN_QUANTITY,
  SKU_PATTERN,
  type OrderLine,
} from '../contract/order.js';
import { isObject } from '../json-value.js';

export class OrderLineDto {
  @IsDefined()
  @IsString()
  @Matches(SKU_PATTERN)
  sku!: string;

  @IsDefined()
  @IsInt()
  @Min(MIN_QUANTITY)
  @Max(MAX_QUANTITY)
  quantity!: number;
}

export class OrderRequestDto {
  @IsDefined()
  @IsString()
  @Matches(CUSTOMER_ID_PATTERN)
  customerId!: string;

  @IsDefined()
  @IsArray()
  @ArrayMinSize(MIN_LINES)
  @ArrayMaxSize(MAX_LINES)
  // Business rule beyond JSON Schema, which cannot express uniqueness of one member across array items.
  // A line that is not an object has no sku to repeat: it is its own (type) error, never a duplicate.
  @ArrayUnique((line: OrderLine) => (isObject(line) ? line.sku : Symbol()), {
    message: 'each sku may appear on one line only',
  })
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  items!: OrderLineDto[];

  // Absent is fine, null is not: @IsOptional would let null through, which the JSON Schema rejects.
  @ValidateIf((request: OrderRequestDto) => request.clientReference !== undefined)
  @IsString()
  @Matches(CLIENT_REFERENCE_PATTERN)
  clientReference?: string;
}
