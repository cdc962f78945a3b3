// The one entry point integration tests use for real services.
export { startMosquitto, type MosquittoHandle, type MosquittoOptions } from "./mosquitto.js";
export { startInfluxDb, type InfluxHandle, type InfluxSeries } from "./influxdb.js";
export { startVictoriaMetrics, type VictoriaHandle, type ExportedSeries } from "./victoria-metrics.js";
export { freePort } from "./free-port.js";
export { ManagedProcess, tcpAccepts, httpOk } from "./managed-process.js";
