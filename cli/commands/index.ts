// Every `vibewatch` command, in the order `--help` lists them. Add one line per command.
import type { Command } from "../command.js";
import { contractCommand } from "./contract.js";

export const commands: Command[] = [
  contractCommand,
];
