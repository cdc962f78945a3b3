// `vibewatch <command> [options]`: one CLI for every tier. Returns the process exit code.
import { readFileSync } from "node:fs";
import { UsageError } from "./command.js";
import { commands } from "./commands/index.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

export function rootHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "Usage: vibewatch <command> [options]",
    "",
    "Machine-vibration monitoring from the sensor to the dashboard.",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help      show help (also: vibewatch <command> --help)",
    "  -V, --version   print the version",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    const command = topic ? commands.find((c) => c.name === topic) : undefined;
    console.log(command ? command.help : rootHelp());
    return first === undefined ? 1 : 0;
  }
  if (first === "-V" || first === "--version") {
    console.log(version());
    return 0;
  }
  if (first.startsWith("-")) {
    console.error(`vibewatch: unknown option "${first}"\n\n${rootHelp()}`);
    return 2;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    console.error(`vibewatch: unknown command "${first}" (try: ${commands.map((c) => c.name).join(", ")})`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`vibewatch ${command.name}: ${error.message}\n\n${command.help}`);
      return 2;
    }
    throw error;
  }
}
