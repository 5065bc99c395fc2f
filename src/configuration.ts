/**
 * A deployed function's settings come from its environment, which the stack writes. One missing is a defect of the
 * deployment, not of any input: the function fails on first use, loudly, and no record is judged by it.
 */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** The value of a setting the stack must give the function. */
export function requiredSetting(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (!value) throw new ConfigurationError(`${name} is not set`);
  return value;
}
