// Moddable "instrumentation" (typings/instrumentation.d.ts; documentation/base/instrumentation.md):
// runtime counters. map() turns a counter's name into its index (SDK 4.x and later).
declare module "instrumentation" {
  const Instrumentation: {
    get(index: number): number | undefined;
    /** e.g. "System Free Memory", "Chunk used", "Slot used" */
    map(name: string): number;
  };
  export default Instrumentation;
}
