// Group commit: collects incoming messages and hands them to `commit` together, every
// `intervalMs` or as soon as `maxMessages` wait, so one fsync covers many messages. The acks
// (PUBACKs) are sent only after `commit` returned, i.e. after the transaction is durable.

export interface Pending {
  topic: string;
  payload: Uint8Array;
  ack: () => void;
}

export class GroupCommit {
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(
    private readonly commit: (messages: Pending[]) => void,
    private readonly intervalMs: number,
    private readonly maxMessages: number,
    private readonly onError: (error: unknown, messages: Pending[]) => void,
  ) {}

  get size(): number {
    return this.#queue.length;
  }

  push(message: Pending): void {
    if (this.#closed) return; // intake stopped: not acked, the broker redelivers it later
    this.#queue.push(message);
    if (this.#queue.length >= this.maxMessages) this.flush();
    else if (!this.#timer) this.#timer = setTimeout(() => this.flush(), this.intervalMs);
  }

  /** Commits what waits, then acks it. A failed commit acks nothing (the broker redelivers). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length === 0) return;
    const messages = this.#queue;
    this.#queue = [];
    try {
      this.commit(messages);
    } catch (error) {
      this.onError(error, messages);
      return;
    }
    for (const message of messages) message.ack();
  }

  /** Stops intake: commits what waits; later pushes are ignored (not acked). */
  close(): void {
    this.flush();
    this.#closed = true;
  }
}
