// The set-up of the gateway tests that run an in-process gateway between a private Mosquitto and
// the ingest stand-in: both started once per file, and everything stopped after it (the gateway
// and the device client a test leaves in `env`, then the stand-in and the broker).
import { afterAll, beforeAll } from "vitest";
import type { MqttClient } from "mqtt";
import { startMosquitto, type MosquittoHandle } from "../../helpers/services.js";
import { FaultInjectingIngestStandIn } from "./fault-injecting-ingest-stand-in.js";
import { BROKER_TUNING } from "./gateway-fixture.js";
import type { Gateway } from "../../../gateway/gateway.js";

export interface BrokerAndStandIn {
  broker: MosquittoHandle;
  standIn: FaultInjectingIngestStandIn;
  /** set by the test: stopped after the file */
  gateway?: Gateway;
  client?: MqttClient;
}

/** Registers beforeAll/afterAll for the file; the fields are set once beforeAll ran. */
export function useBrokerAndStandIn(): BrokerAndStandIn {
  const env = {} as BrokerAndStandIn;
  beforeAll(async () => {
    env.broker = await startMosquitto({ extraConfig: BROKER_TUNING });
    env.standIn = await FaultInjectingIngestStandIn.start();
  });
  afterAll(async () => {
    await env.gateway?.stop();
    await env.client?.endAsync(true);
    await env.standIn?.close();
    await env.broker?.dispose();
  });
  return env;
}
