// The shape of a `vibewatch <command>`: each command lives in cli/commands/<name>.ts.
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Command {
  name: string;
  /** one line for `vibewatch --help` */
  summary: string;
  /** full help text for `vibewatch <name> --help` */
  help: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs in strict mode, with errors turned into UsageErrors that name the bad option. */
export function parseCommandArgs<T extends Options>(argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A numeric option: a clear error when it is not a number in range. */
export function numberOption(name: string, value: string | undefined, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be a number in [${min}, ${max}], got "${value}"`);
  }
  return parsed;
}
