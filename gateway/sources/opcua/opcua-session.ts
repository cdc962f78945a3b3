// One OPC UA client session with its subscription and monitored items, built in one go with
// node-opcua's documented API (OPCUAClient.create, connect, createSession, createSubscription2,
// ClientMonitoredItemGroup.create), and torn down in one go. The source (opcua-source.ts) builds a
// new one after any loss instead of relying on the client library's own session repair: a
// subscription that the library failed to restore after a server restart is the complaint this
// design answers. Every step is bounded by a timeout, so a build never hangs.
import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type UserIdentityInfo,
} from "node-opcua";
import type { OpcuaSourceConfig } from "./opcua-config.js";

export interface SessionEvents {
  /** a data change of node `index` (config.nodes order) */
  changed(index: number, value: DataValue): void;
  /** the subscription is alive (a keep-alive without data) */
  alive(): void;
  /** the connection, session or subscription is gone */
  lost(why: string): void;
}

/** Bound of each build step and of the teardown, ms. */
const STEP_TIMEOUT_MS = 10_000;

async function bounded<T>(promise: Promise<T>, what: string, timeoutMs = STEP_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${timeoutMs} ms`)), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

function identityOf(config: OpcuaSourceConfig): UserIdentityInfo {
  if (config.username) {
    return { type: UserTokenType.UserName, userName: config.username, password: config.passwordFile ? readFileSync(config.passwordFile, "utf8").trim() : "" };
  }
  if (config.userCertificateFile && config.userPrivateKeyFile) {
    return {
      type: UserTokenType.Certificate,
      certificateData: new X509Certificate(readFileSync(config.userCertificateFile)).raw,
      privateKey: readFileSync(config.userPrivateKeyFile, "utf8"),
    };
  }
  return { type: UserTokenType.Anonymous };
}

export class OpcuaSession {
  #client: OPCUAClient | undefined;
  #closed = false;

  private constructor(private readonly config: OpcuaSourceConfig, private readonly events: SessionEvents) {}

  /** Connects, opens the session, creates the subscription and its monitored items; throws and cleans up on any failure. */
  static async open(config: OpcuaSourceConfig, events: SessionEvents): Promise<OpcuaSession> {
    const session = new OpcuaSession(config, events);
    try {
      await session.#build();
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  async #build(): Promise<void> {
    const { config } = this;
    const publishingIntervalMs = config.publishingIntervalMs ?? config.samplingIntervalMs;
    const client = OPCUAClient.create({
      applicationName: "vibewatch-gateway",
      endpointMustExist: false,
      securityMode: MessageSecurityMode[config.securityMode],
      securityPolicy: SecurityPolicy[config.securityPolicy],
      clientCertificateManager: new OPCUACertificateManager({ rootFolder: config.pkiDir, automaticallyAcceptUnknownCertificate: false }),
      // one attempt per build: the source owns the retry (its backoff and its gap accounting)
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
    });
    this.#client = client;
    // after the connect, any break of the connection ends this session: the source builds a new one
    const lost = (why: string) => () => this.#lost(why);
    client.on("connection_lost", lost("connection lost"));
    client.on("close", lost("connection closed"));
    client.on("start_reconnection", lost("connection broken"));
    await bounded(client.connect(config.endpointUrl), "connect");
    const session: ClientSession = await bounded(client.createSession(identityOf(config)), "create session");
    session.on("session_closed", lost("session closed"));
    const subscription: ClientSubscription = await bounded(
      session.createSubscription2({
        requestedPublishingInterval: publishingIntervalMs,
        requestedMaxKeepAliveCount: config.keepAliveCount,
        requestedLifetimeCount: config.keepAliveCount * 3,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 1,
      }),
      "create subscription",
    );
    subscription.on("keepalive", () => this.events.alive());
    subscription.on("terminated", lost("subscription terminated"));
    subscription.on("status_changed", (status) => {
      if (!status.isGood()) this.#lost(`subscription status ${status.toString()}`);
    });
    const group = ClientMonitoredItemGroup.create(
      subscription,
      config.nodes.map((node) => ({ nodeId: node.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: config.samplingIntervalMs, queueSize: 100, discardOldest: true },
      TimestampsToReturn.Both,
    );
    group.on("changed", (_item, value, index) => this.events.changed(index, value));
    await bounded(new Promise<void>((resolve, reject) => {
      group.once("initialized", () => resolve());
      group.once("err", (message) => reject(new Error(`monitored items: ${message}`)));
    }), "create monitored items");
  }

  #lost(why: string): void {
    if (this.#closed) return;
    this.events.lost(why);
  }

  /** Tears everything down (bounded; a dead server gets no say). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) await bounded(client.disconnect(), "disconnect", 3000).catch(() => undefined);
  }
}
