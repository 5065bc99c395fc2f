/** The Validate handler as a deployment would configure it, for the table a test uses. */
import { validateHandlerFor, type ValidateHandler } from '../../lambdas/validate/handler.js';
import { CLIENT_KEY_RETENTION_HOURS } from '../../src/deployed-settings.js';

export const validateHandlerOn = (
  tableName = 'orders',
  options: { clock?: () => Date; clientKeyRetentionHours?: number } = {},
): ValidateHandler =>
  validateHandlerFor(
    { tableName, clientKeyRetentionHours: options.clientKeyRetentionHours ?? CLIENT_KEY_RETENTION_HOURS.default },
    options.clock,
  );
