// The fleet service's error catalog, one shape for every error reply: { statusCode, code, error,
// message } (as the ingest service's cloud/errors.ts).
import { STATUS_CODES } from "node:http";

export const FleetErrors = {
  MissingToken: { code: "VW_MISSING_TOKEN", statusCode: 401, message: "missing bearer token (Authorization: Bearer <token>)" },
  BadToken: { code: "VW_BAD_TOKEN", statusCode: 401, message: "bearer token not recognised" },
  Forbidden: { code: "VW_FORBIDDEN", statusCode: 403, message: "this token's role may not do that" },
  SiteMismatch: { code: "VW_SITE_MISMATCH", statusCode: 403, message: "this gateway syncs another site" },
  BadConfig: { code: "VW_BAD_CONFIG", statusCode: 400, message: "the configuration is refused" },
  BadRequest: { code: "VW_SCHEMA", statusCode: 400, message: "the request does not match its schema" },
  NotFound: { code: "VW_NOT_FOUND", statusCode: 404, message: "no such route" },
  StorageUnavailable: { code: "VW_STORAGE_UNAVAILABLE", statusCode: 503, message: "the fleet database is unavailable" },
  Internal: { code: "VW_INTERNAL", statusCode: 500, message: "internal error" },
} as const;

export type FleetErrorName = keyof typeof FleetErrors;

export class FleetError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(name: FleetErrorName, message?: string) {
    const entry = FleetErrors[name];
    super(message ?? entry.message);
    this.name = "FleetError";
    this.code = entry.code;
    this.statusCode = entry.statusCode;
  }
}

export function errorBody(statusCode: number, code: string, message: string): { statusCode: number; code: string; error: string; message: string } {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? "Error", message };
}
