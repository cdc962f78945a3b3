// Source entry of the CLI (tests and development: `node --import tsx cli/entry.ts <command>`).
// The installed `vibewatch` binary (bin/vibewatch.js) runs the compiled dist/cli/main.js instead.
import { main } from "./main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`vibewatch: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
