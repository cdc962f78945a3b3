// XS side of the simulated board's link to its Node host (simulator/xs-worker.ts).
// Messages are JSON in UTF-8 both ways:
//   XS -> Node: hostCall(op, args) uses xsnap's synchronous global issueCommand and returns the reply.
//   Node -> XS: the host's worker.call({op, ...}) lands in a handler registered with onHostCommand.
// Runs under XS only; it never touches a Node API.

declare const issueCommand: (message: ArrayBufferLike) => ArrayBuffer;

type Handler = (message: Record<string, unknown>) => unknown;
const handlers: Record<string, Handler> = {};
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function hostCall<T = unknown>(op: string, args: Record<string, unknown> = {}): T {
  const reply = issueCommand(encoder.encode(JSON.stringify({ op, ...args })).buffer as ArrayBuffer);
  const text = decoder.decode(new Uint8Array(reply));
  return (text ? JSON.parse(text) : undefined) as T;
}

export function onHostCommand(op: string, handler: Handler): void {
  handlers[op] = handler;
}

(globalThis as unknown as { handleCommand: (bytes: ArrayBuffer) => ArrayBuffer }).handleCommand = (bytes) => {
  let reply: unknown;
  try {
    const message = JSON.parse(decoder.decode(new Uint8Array(bytes))) as Record<string, unknown>;
    const handler = handlers[message.op as string];
    if (!handler) throw new Error(`no handler for host command "${String(message.op)}"`);
    reply = { ok: true, value: handler(message) };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
  return encoder.encode(JSON.stringify(reply)).buffer as ArrayBuffer;
};
