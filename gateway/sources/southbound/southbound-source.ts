// The seam every southbound source implements (Modbus, OPC UA, JSON over MQTT): start, stop, its
// reading stream (boot id, sequence, gaps) and whether its connection is up.
import type { ReadingStream } from "./reading-stream.js";

export interface SouthboundSource {
  readonly stream: ReadingStream;
  readonly connected: boolean;
  /** starts polling / subscribing; resolves without waiting for the peer (it reconnects on its own) */
  start(): Promise<void>;
  stop(): Promise<void>;
}
