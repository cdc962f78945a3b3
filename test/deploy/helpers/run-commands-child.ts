// Child process of runCommands() (./manifests.ts): runs several `vibewatch` command lines one
// after the other through the CLI's own dispatcher, each with its own environment additions, and
// frames each one's output and exit code on stdout. One process for all, because loading the
// CLI (XS, esbuild, Fastify) costs seconds, and in the test process it would lock down globals.

// errors go to stdout, so they land inside their job's frame; set before the CLI loads, since
// loading it hardens the globals (@endo/init in simulator/xs-worker.ts)
console.error = console.log;
const { main } = await import("../../../cli/main.js");

interface Job {
  argv: string[];
  env: Record<string, string>;
}

const jobs = JSON.parse(process.argv[2] ?? "[]") as Job[];
for (const [index, job] of jobs.entries()) {
  const saved = new Map(Object.keys(job.env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, job.env);
  console.log(`<<<job ${index}`);
  let code: number;
  try {
    code = await main(job.argv);
  } catch (error) {
    console.log(`uncaught: ${(error as Error).stack ?? String(error)}`);
    code = 99;
  }
  console.log(`>>>job ${index} exit ${code}`);
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}
