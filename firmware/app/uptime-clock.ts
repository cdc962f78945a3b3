// Milliseconds since boot that never wrap, from Moddable's Time.ticks, which on the ESP32 is a
// signed 32-bit millisecond count: it wraps after 2^31 ms (24.8 days), and a status `up` read from
// it directly would turn negative then. Each read adds the int32 difference since the previous
// read (correct across one wrap), so the clock must be read at least once per 24.8 days: the
// MQTT client's keepalive and the heartbeat read it far more often.

export function uptimeClock(readTicks: () => number): () => number {
  let last = readTicks() | 0;
  let uptimeMs = 0;
  return () => {
    const now = readTicks() | 0;
    uptimeMs += (now - last) | 0;
    last = now;
    return uptimeMs;
  };
}
