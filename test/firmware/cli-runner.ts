// Runs `vibewatch <args>` from source in its own process (tests spawn it with `node --import tsx`):
// the CLI's real stdout, stderr and exit code, as a user sees them.
import { main } from "../../cli/main.js";

process.exitCode = await main(process.argv.slice(2));
