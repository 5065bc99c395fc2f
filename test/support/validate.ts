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

/** What validateOrder is given in a unit test: a fixed clock and orderId, the deployed default retention. */
export const validationContextAt = (now: Date) => ({
  now,
  newOrderId: () => '01KMZ7Q5Y3V8R2T6W9X4C1B0NA',
  tableName: 'orders',
  clientKeyRetentionHours: CLIENT_KEY_RETENTION_HOURS.default,
});
