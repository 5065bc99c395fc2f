/** The service's name in logs (Powertools `service`) and metrics, wherever it runs. */
export const SERVICE_NAME = 'order-intake';
