// Where everything lives inside one PKI directory. One place, so the CLI, the docs and the tests
// agree on file names.
//
//   <dir>/ca/ca.key  ca.crt  ca.der  openssl.cnf  index.txt  serial  crlnumber  newcerts/  crl.pem
//   <dir>/devices/<id>/   key.pem cert.pem chain.pem csr.pem ext.cnf + Moddable outputs (DER, manifest_tls.json)
//   <dir>/gateways/<id>/  key.pem cert.pem chain.pem csr.pem ext.cnf
//   <dir>/servers/<name>/ key.pem cert.pem chain.pem csr.pem ext.cnf
//   <dir>/tokens/<gateway>.token (secret, 0600)  <gateway>.hash (line for the ingest config)
import { join, resolve } from "node:path";
import { isValidId } from "../protocol/topics.js";

export type EntityKind = "device" | "gateway" | "server";

const kindFolder: Record<EntityKind, string> = { device: "devices", gateway: "gateways", server: "servers" };

/** Gateways share the broker with devices; their certificate CN (= MQTT user name) carries a "." that no device id can hold. */
export const GATEWAY_CN_PREFIX = "gw.";

/** Server names: host-name-like, so they can double as folder names. */
const SERVER_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export function checkEntityName(kind: EntityKind, name: string): void {
  if (kind === "server") {
    if (!SERVER_NAME_PATTERN.test(name)) throw new Error(`invalid server name "${name}": want 1..63 of [a-z0-9.-], starting with a letter or digit`);
    return;
  }
  if (!isValidId(name)) throw new Error(`invalid ${kind} id "${name}": want 1..24 of [a-z0-9-], starting with a letter or digit (protocol/topics.ts)`);
}

/** The certificate's common name: a device's id, "gw.<id>" for a gateway, the host name for a server. */
export function commonNameFor(kind: EntityKind, name: string): string {
  return kind === "gateway" ? `${GATEWAY_CN_PREFIX}${name}` : name;
}

export class PkiLayout {
  readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
  }

  get caDir(): string {
    return join(this.root, "ca");
  }
  get caKey(): string {
    return join(this.caDir, "ca.key");
  }
  get caCert(): string {
    return join(this.caDir, "ca.crt");
  }
  get caDer(): string {
    return join(this.caDir, "ca.der");
  }
  get caConfig(): string {
    return join(this.caDir, "openssl.cnf");
  }
  get index(): string {
    return join(this.caDir, "index.txt");
  }
  get newCertsDir(): string {
    return join(this.caDir, "newcerts");
  }
  get crl(): string {
    return join(this.caDir, "crl.pem");
  }
  get tokensDir(): string {
    return join(this.root, "tokens");
  }

  entityDir(kind: EntityKind, name: string): string {
    checkEntityName(kind, name);
    return join(this.root, kindFolder[kind], name);
  }

  entity(kind: EntityKind, name: string): EntityFiles {
    const dir = this.entityDir(kind, name);
    return {
      dir,
      key: join(dir, "key.pem"),
      cert: join(dir, "cert.pem"),
      chain: join(dir, "chain.pem"),
      csr: join(dir, "csr.pem"),
      extensions: join(dir, "ext.cnf"),
    };
  }

  /** The serial's copy that `openssl ca` keeps in newcerts/ (upper-case hex). */
  issuedCert(serialHex: string): string {
    return join(this.newCertsDir, `${serialHex.toUpperCase()}.pem`);
  }

  token(gateway: string): { secret: string; hash: string } {
    checkEntityName("gateway", gateway);
    return { secret: join(this.tokensDir, `${gateway}.token`), hash: join(this.tokensDir, `${gateway}.hash`) };
  }
}

export interface EntityFiles {
  dir: string;
  key: string;
  cert: string;
  /** leaf + CA, PEM: what a TLS client or server presents */
  chain: string;
  csr: string;
  /** the X.509 extensions this certificate was issued with, kept as a record */
  extensions: string;
}
