// The error catalog of the wire contract: one code per way a message or record can be wrong.
// The gateway counts quarantined messages by these codes; the cloud returns them per record.

export const ContractErrorCode = {
  NotCbor: "VW_NOT_CBOR",
  Truncated: "VW_TRUNCATED",
  Oversize: "VW_OVERSIZE",
  TooDeep: "VW_TOO_DEEP",
  UnknownVersion: "VW_UNKNOWN_VERSION",
  Schema: "VW_SCHEMA",
  DeviceMismatch: "VW_DEVICE_MISMATCH",
  BadTopic: "VW_BAD_TOPIC",
  /** a batch lists the same record id twice: the later one is refused */
  DuplicateId: "VW_DUPLICATE_ID",
  /** two records of a batch land on the same storage point (measurement + tags + ts) with different ids: the later one is refused */
  PointCollision: "VW_POINT_COLLISION",
} as const;

export type ContractErrorCode = (typeof ContractErrorCode)[keyof typeof ContractErrorCode];

export class ContractError extends Error {
  readonly code: ContractErrorCode;
  /** JSON pointer of the offending field, "" for the whole message */
  readonly field: string;

  constructor(code: ContractErrorCode, field: string, message: string) {
    super(field ? `${field}: ${message}` : message);
    this.name = "ContractError";
    this.code = code;
    this.field = field;
  }
}
