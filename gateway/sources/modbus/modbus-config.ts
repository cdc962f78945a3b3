// Config of one Modbus source (TCP or RTU): the connection, the unit, the poll and the registers.
// Part of the gateway's one config schema (gateway/config/config-schema.ts, `sources`).
import { Type, type Static } from "@sinclair/typebox";
import { SourceNameSchema, ReadingNameSchema, SourceTagsSchema, type WithDefaults } from "../southbound/source-config.js";

export const RegisterSchema = Type.Object(
  {
    field: ReadingNameSchema,
    area: Type.Optional(Type.Union([Type.Literal("holding"), Type.Literal("input"), Type.Literal("coil"), Type.Literal("discrete")], { default: "holding", description: "holding/input registers (function 3/4), coils/discrete inputs (1/2)" })),
    address: Type.Integer({ minimum: 0, maximum: 65535, description: "0-based protocol address (register 40001 is holding address 0)" }),
    type: Type.Optional(Type.Union([Type.Literal("int16"), Type.Literal("uint16"), Type.Literal("int32"), Type.Literal("uint32"), Type.Literal("float32"), Type.Literal("bool")], {
      default: "uint16",
      description: "int16/uint16: one register; int32/uint32/float32: two; bool: a coil or discrete input",
    })),
    wordOrder: Type.Optional(Type.Union([Type.Literal("big"), Type.Literal("little")], { default: "big", description: "32-bit values: big = high word first (Modbus convention), little = low word first" })),
    scale: Type.Optional(Type.Number({ default: 1, description: "value = raw * scale + offset" })),
    offset: Type.Optional(Type.Number({ default: 0 })),
    unit: Type.Optional(Type.String({ maxLength: 16, description: "documentation only: put the unit in the field name (motor_current_a)" })),
    output: Type.Optional(Type.Union([Type.Literal("float"), Type.Literal("int")], { default: "float", description: "InfluxDB field type: float, or int (rounded after scaling)" })),
  },
  { additionalProperties: false },
);

export const ModbusSourceSchema = Type.Object(
  {
    type: Type.Literal("modbus"),
    name: SourceNameSchema,
    protocol: Type.Optional(Type.Union([Type.Literal("tcp"), Type.Literal("rtu")], { default: "tcp" })),
    host: Type.Optional(Type.String({ minLength: 1, description: "tcp: the PLC's address" })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, default: 502, description: "tcp port" })),
    path: Type.Optional(Type.String({ minLength: 1, description: "rtu: serial device (/dev/ttyUSB0)" })),
    baudRate: Type.Optional(Type.Integer({ minimum: 300, maximum: 921600, default: 9600 })),
    parity: Type.Optional(Type.Union([Type.Literal("none"), Type.Literal("even"), Type.Literal("odd")], { default: "none" })),
    dataBits: Type.Optional(Type.Union([Type.Literal(7), Type.Literal(8)], { default: 8 })),
    stopBits: Type.Optional(Type.Union([Type.Literal(1), Type.Literal(2)], { default: 1 })),
    unitId: Type.Optional(Type.Integer({ minimum: 0, maximum: 255, default: 1, description: "Modbus unit (slave) id" })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000, default: 1000, description: "poll interval; a poll not done in time is a gap" })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 1000, description: "reply timeout per request" })),
    pacingMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, default: 0, description: "pause between two requests (devices that need time between frames)" })),
    reconnectMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000, default: 500, description: "first reconnect delay (doubles, with jitter)" })),
    reconnectMaxMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 600_000, default: 5000, description: "longest reconnect delay" })),
    measurement: ReadingNameSchema,
    tags: Type.Optional(SourceTagsSchema),
    registers: Type.Array(RegisterSchema, { minItems: 1, maxItems: 64 }),
  },
  { additionalProperties: false },
);

export type RegisterConfig = WithDefaults<Static<typeof RegisterSchema>, "area" | "type" | "wordOrder" | "scale" | "offset" | "output">;
export type ModbusSourceConfig = WithDefaults<
  Omit<Static<typeof ModbusSourceSchema>, "registers">,
  "protocol" | "port" | "baudRate" | "parity" | "dataBits" | "stopBits" | "unitId" | "intervalMs" | "timeoutMs" | "pacingMs" | "reconnectMs" | "reconnectMaxMs"
> & { registers: RegisterConfig[] };
