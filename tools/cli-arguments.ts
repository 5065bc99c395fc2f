/**
 * The arguments of the project's command-line tools, read one way: `--help` (or `-h`) prints the usage and exits 0,
 * and an option the tool does not know prints what is wrong with the usage and exits 2, never a stack trace.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { errorMessage } from '../src/json-value.js';

export function cliArguments<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${errorMessage(error)}\n${usage}`);
    process.exit(2);
  }
}
