/**
 * What the Validate function needs of its deployment, as environment variables: the CDK stack sets them on the
 * function from validateEnvironment(), and the local runtime hands the handler the same record, so both read them
 * the one way (validateSettingsFrom).
 */
import { clientKeyRetentionHours } from '../deployed-settings.js';

export const VALIDATE_ENVIRONMENT = {
  /** Validate builds the transaction's items, which name their table. */
  ordersTableName: 'ORDERS_TABLE_NAME',
  clientKeyRetentionHours: 'CLIENT_KEY_RETENTION_HOURS',
} as const;

export interface ValidateSettings {
  tableName: string;
  clientKeyRetentionHours: number;
}

export const validateEnvironment = (settings: ValidateSettings): Record<string, string> => ({
  [VALIDATE_ENVIRONMENT.ordersTableName]: settings.tableName,
  [VALIDATE_ENVIRONMENT.clientKeyRetentionHours]: String(settings.clientKeyRetentionHours),
});

export function validateSettingsFrom(env: Readonly<Record<string, string | undefined>>): ValidateSettings {
  const tableName = env[VALIDATE_ENVIRONMENT.ordersTableName];
  if (!tableName) throw new Error(`${VALIDATE_ENVIRONMENT.ordersTableName} is not set`);
  return {
    tableName,
    clientKeyRetentionHours: clientKeyRetentionHours(
      env[VALIDATE_ENVIRONMENT.clientKeyRetentionHours],
      VALIDATE_ENVIRONMENT.clientKeyRetentionHours,
    ),
  };
}
