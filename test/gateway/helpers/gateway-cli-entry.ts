// Runs the CLI from source for tests that need the gateway as a child process (SIGKILL, SIGTERM):
//   node --import tsx test/gateway/helpers/gateway-cli-entry.ts gateway --config <file>
import { main } from "../../../cli/main.js";

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
