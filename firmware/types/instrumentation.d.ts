// Moddable "instrumentation": runtime counters, mirroring the SDK 8.2 typings
// ($MODDABLE/typings/instrumentation.d.ts). map() turns a counter's name into its index.
declare module "instrumentation" {
  type InstrumentationKeys =
    | "Pixels Drawn" | "Frames Drawn" | "Network Bytes Read" | "Network Bytes Written" | "Network Sockets"
    | "Timers" | "Files" | "Poco Display List Used" | "Piu Command List Used" | "Turns" | "CPU 0" | "CPU 1"
    | "System Free Memory" | "XS Slot Heap Used" | "XS Chunk Heap Used" | "XS Keys Used"
    | "XS Garbage Collection Count" | "XS Modules Loaded" | "XS Stack Used" | "XS Promises Settled";
  const Instrumentation: {
    get: (what: number | undefined) => number | undefined;
    map: (name: InstrumentationKeys) => number | undefined;
    name: (what: number | undefined) => string | undefined;
  };
  export { Instrumentation as default };
}
