// Reads points of one measurement and device back from the real InfluxDB as {timeUs, fields}.
import type { InfluxHandle } from "../../helpers/services.js";

export interface InfluxPoint {
  timeUs: number;
  fields: Record<string, unknown>;
}

export async function influxReadBack(influx: InfluxHandle, database: string, measurement: string, device: string): Promise<InfluxPoint[]> {
  const series = await influx.query(`SELECT * FROM "${measurement}" WHERE "device" = '${device}' ORDER BY time`, database);
  const first = series[0];
  if (!first) return [];
  return first.values.map((row) => {
    const fields: Record<string, unknown> = {};
    first.columns.forEach((column, index) => {
      if (column !== "time" && row[index] !== null) fields[column] = row[index];
    });
    return { timeUs: row[0] as number, fields };
  });
}
