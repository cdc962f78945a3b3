// The young-generation flag a bench runs with: the service it measures runs with it too (the
// ingest image, the gateway's systemd unit), so a bench without it measures something else.
// Reported in the bench's JSON; a note on stderr when it is missing.

/** The --max-semi-space-size flags of this process (argv or NODE_OPTIONS). */
export function youngGenerationFlags(script: string): string[] {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].filter((flag) => flag.startsWith("--max-semi-space-size"));
  if (flags.length === 0) console.error(`note: run through \`npm run ${script}\` to measure with the service's --max-semi-space-size`);
  return flags;
}
