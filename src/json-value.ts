/** Small helpers every layer needs, defined once. No AWS import. */

/** A JSON object (not null, not an array): what JSON.parse gives for `{...}`. */
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What an error says, for a person: its message alone. */
export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** An error as one log or failure-reason line: its name and message. */
export const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);
