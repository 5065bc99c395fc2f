// Apart from the terminal logger, which loads Powertools Logger: npm start checks LOG_FORMAT before DynamoDB Local's
// JVM starts, and loads the logger only once the JVM boots.

/**
 * LOG_FORMAT: `text` (readable lines) or `json`; by default text when stdout is a terminal, JSON otherwise, so that
 * what a program reads stays JSON.
 */
export function logFormat(asked = process.env.LOG_FORMAT, terminal = process.stdout.isTTY === true): 'text' | 'json' {
  if (asked === undefined || asked === '') return terminal ? 'text' : 'json';
  if (asked !== 'text' && asked !== 'json') throw new Error(`LOG_FORMAT must be text or json, not ${asked}`);
  return asked;
}
