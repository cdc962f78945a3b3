// The part of @agoric/xsnap's API the simulator uses (the package ships JS with JSDoc only).
declare module "@agoric/xsnap" {
  export interface XsnapRunResult<T> {
    reply: T;
    meterUsage: Record<string, number>;
  }
  export interface XsnapWorker {
    evaluate(code: string): Promise<XsnapRunResult<Uint8Array>>;
    issueCommand(message: Uint8Array): Promise<XsnapRunResult<Uint8Array>>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export function xsnap(options: Record<string, unknown>): Promise<XsnapWorker>;
}
