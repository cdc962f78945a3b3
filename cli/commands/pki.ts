// `vibewatch pki <subcommand> --dir <pki dir>`: the fleet's certificate authority (see pki/README.md).
// Every subcommand first checks the modes of the directory's secrets and fixes them, saying so.
import type { Command } from "../command.js";
import { numberOption, parseCommandArgs, UsageError } from "../command.js";
import { initCa, requireCa, DEFAULT_CA_OPTIONS } from "../../pki/ca.js";
import { issueCertificate, DEFAULT_VALIDITY_DAYS, type IssuedCertificate } from "../../pki/issue.js";
import { listCertificates, formatTable } from "../../pki/list.js";
import { generateCrl, revokeEntity, revokeSerial, REVOCATION_REASONS, type RevocationReason } from "../../pki/revoke.js";
import { createGatewayToken } from "../../pki/token.js";
import { gatewayAclBlock } from "../../pki/acl-snippet.js";
import { PkiLayout, type EntityKind } from "../../pki/layout.js";
import { checkModes, formatMode } from "../../pki/secret-files.js";
import { checkOpenssl } from "../../pki/openssl.js";
import { createReleaseKey } from "../../pki/release-key.js";

const subcommandHelp: Record<string, string> = {
  init: `Usage: vibewatch pki init --dir <dir> [--name <CA name>] [--days <n>] [--crl-days <n>]

Creates the fleet CA in <dir>/ca (RSA ${DEFAULT_CA_OPTIONS.keyBits}, self-signed, valid ${DEFAULT_CA_OPTIONS.validityDays} days by default),
its openssl ca database and a first, empty CRL (<dir>/ca/crl.pem). Refuses to overwrite a CA.
  --crl-days <n>   CRL lifetime (default ${DEFAULT_CA_OPTIONS.crlDays}); re-run \`pki crl\` well before it ends`,
  "issue-device": `Usage: vibewatch pki issue-device --dir <dir> --id <device id> [--days <n>] [--replace]

Issues a device certificate (CN = device id, extendedKeyUsage clientAuth, RSA 2048, ${DEFAULT_VALIDITY_DAYS.device} days by default)
in <dir>/devices/<id>/, plus the Moddable build inputs: vw-device-key.der (PKCS#8, 0600),
vw-device-cert.der, vw-ca.der and manifest_tls.json (resources + mc/config entries).
  --replace                 revoke the device's current certificate and issue a new key + certificate
  --not-before/--not-after  explicit validity (ISO 8601, UTC), e.g. to back-date a test certificate`,
  "issue-gateway": `Usage: vibewatch pki issue-gateway --dir <dir> --id <gateway id> [--site <site>] [--dns <name>]... [--ip <addr>]... [--days <n>] [--replace]

Issues a gateway certificate (CN = gw.<id>, clientAuth + serverAuth, ${DEFAULT_VALIDITY_DAYS.gateway} days by default) in
<dir>/gateways/<id>/ and prints the Mosquitto ACL block to append to the broker's acl file.
  --site <site>   restrict the printed ACL block to one site (default: all sites, "+")`,
  "issue-server": `Usage: vibewatch pki issue-server --dir <dir> --name <name> [--dns <name>]... [--ip <addr>]... [--days <n>] [--replace]

Issues a TLS server certificate (serverAuth, ${DEFAULT_VALIDITY_DAYS.server} days by default) for the ingest service or a broker,
in <dir>/servers/<name>/. Subject alternative names from --dns/--ip (repeatable or comma-separated);
with none, the name itself is the DNS name.`,
  list: `Usage: vibewatch pki list --dir <dir> [--json]

Lists every certificate the CA issued: serial, kind, CN, validity, and state (valid, expired, revoked).`,
  revoke: `Usage: vibewatch pki revoke --dir <dir> (--device <id> | --gateway <id> | --server <name> | --serial <hex>) [--reason <reason>]

Revokes a certificate and regenerates the CRL (<dir>/ca/crl.pem). Copy the CRL to the broker and the
ingest service and restart them (Mosquitto reads its crlfile at start-up).
  --reason   one of ${REVOCATION_REASONS.join(", ")} (default keyCompromise)`,
  crl: `Usage: vibewatch pki crl --dir <dir>

Regenerates the CRL (<dir>/ca/crl.pem). Run it on a schedule: an expired CRL makes the broker refuse everyone.`,
  token: `Usage: vibewatch pki token --dir <dir> --gateway <id> [--rotate] [--stdout]

Creates a gateway's bearer token for the ingest service. The token is written once, to
<dir>/tokens/<id>.token (mode 0600) for the gateway's sink.tokenFile, and never printed; the
salted hash line for the ingest config (gateways[].tokenHash) is printed and kept in <id>.hash.
  --rotate   replace an existing token
  --stdout   print the token to stdout instead of writing the file (to pipe into a secret store)`,
  "release-key": `Usage: vibewatch pki release-key --out <dir>

Creates the firmware release-signing key pair (ECDSA P-256), apart from the TLS CA:
  <dir>/release-signing.key      private key (PKCS#8 PEM, 0600): for \`vibewatch release sign --key\`
  <dir>/release-signing.pub.pem  public key (PEM): the gateways' ota.releasePublicKeyFile
  <dir>/release-signing.pub.raw  public key as the 65-byte point 0x04||X||Y: built into the device firmware
Refuses to overwrite an existing key. The private key is never printed; keep <dir> offline.`,
};

const help = `Usage: vibewatch pki <subcommand> --dir <pki dir> [options]

The fleet's certificate authority, driven through the openssl CLI. Everything lives in one directory;
private keys and tokens are kept at mode 0600 (every subcommand checks and fixes that).

Subcommands:
  init            create the fleet CA and an empty CRL
  issue-device    device certificate (CN = device id) + Moddable DER resources and manifest fragment
  issue-gateway   gateway certificate (client + server) + its Mosquitto ACL block
  issue-server    server certificate (ingest service, broker) with DNS/IP subject alternative names
  list            every issued certificate with its state
  revoke          revoke a certificate and regenerate the CRL
  crl             regenerate the CRL
  token           a gateway bearer token (file, 0600) and its hash for the ingest config
  release-key     the firmware release-signing key pair (ECDSA P-256, --out <dir>), apart from the CA

Run \`vibewatch pki <subcommand> --help\` for its options.`;

const commonOptions = { dir: { type: "string" } } as const;

function requireString(value: string | undefined, name: string): string {
  if (value === undefined || value.length === 0) throw new UsageError(`--${name} is required`);
  return value;
}

function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v.length > 0);
}

function dateOption(name: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new UsageError(`--${name} must be an ISO 8601 date, got "${value}"`);
  return date;
}

function reportModes(dir: string): void {
  for (const problem of checkModes(new PkiLayout(dir).root, true)) {
    console.error(`pki: fixed mode of ${problem.path}: was ${formatMode(problem.mode)}, now ${formatMode(problem.want)}`);
  }
}

function printIssued(issued: IssuedCertificate): void {
  console.log(`issued ${issued.kind} certificate CN=${issued.commonName} serial ${issued.serial}`);
  console.log(`  valid ${issued.notBefore.toISOString()} .. ${issued.notAfter.toISOString()}`);
  console.log(`  key   ${issued.files.key} (0600)\n  cert  ${issued.files.cert}\n  chain ${issued.files.chain}`);
  if (issued.moddable) {
    console.log(`  Moddable: ${issued.moddable.keyDer} (0600), ${issued.moddable.certDer}, ${issued.moddable.caDer}`);
    console.log(`  manifest fragment: ${issued.moddable.manifestFragment}`);
  }
}

async function runIssue(kind: EntityKind, argv: string[]): Promise<number> {
  const nameOption = kind === "server" ? "name" : "id";
  const parsed = parseCommandArgs(argv, {
    ...commonOptions,
    [nameOption]: { type: "string" },
    days: { type: "string" },
    "not-before": { type: "string" },
    "not-after": { type: "string" },
    replace: { type: "boolean" },
    ...(kind === "device" ? {} : { dns: { type: "string", multiple: true }, ip: { type: "string", multiple: true } }),
    ...(kind === "gateway" ? { site: { type: "string" } } : {}),
  });
  // the option set depends on the kind, so read the values through one loose type
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const dir = requireString(values.dir as string | undefined, "dir");
  const name = requireString(values[nameOption] as string | undefined, nameOption);
  reportModes(dir);
  const days = values.days === undefined ? undefined : numberOption("days", values.days as string, 0, 1, 36500);
  const site = values.site as string | undefined;
  // validate the ACL inputs before issuing anything, so a bad --site does not leave a half-done gateway
  const aclBlock = kind === "gateway" ? gatewayAclBlock(name, site) : "";
  const issued = await issueCertificate(dir, {
    kind,
    name,
    dnsNames: splitList(values.dns as string[] | undefined),
    ipAddresses: splitList(values.ip as string[] | undefined),
    validityDays: days,
    notBefore: dateOption("not-before", values["not-before"] as string | undefined),
    notAfter: dateOption("not-after", values["not-after"] as string | undefined),
    replace: values.replace === true,
  });
  printIssued(issued);
  if (kind === "gateway") console.log(`\nAppend to the broker's acl file (manifests/mosquitto/acl):\n\n${aclBlock}`);
  return 0;
}

async function runSubcommand(subcommand: string, argv: string[]): Promise<number> {
  switch (subcommand) {
    case "init": {
      const { values } = parseCommandArgs(argv, { ...commonOptions, name: { type: "string" }, days: { type: "string" }, "crl-days": { type: "string" } });
      const dir = requireString(values.dir, "dir");
      await checkOpenssl();
      const layout = await initCa(dir, {
        name: values.name ?? DEFAULT_CA_OPTIONS.name,
        validityDays: numberOption("days", values.days, DEFAULT_CA_OPTIONS.validityDays, 1, 36500),
        crlDays: numberOption("crl-days", values["crl-days"], DEFAULT_CA_OPTIONS.crlDays, 1, 3650),
      });
      console.log(`created CA ${layout.caCert} (key ${layout.caKey}, 0600) and CRL ${layout.crl}`);
      return 0;
    }
    case "issue-device":
      return await runIssue("device", argv);
    case "issue-gateway":
      return await runIssue("gateway", argv);
    case "issue-server":
      return await runIssue("server", argv);
    case "list": {
      const { values } = parseCommandArgs(argv, { ...commonOptions, json: { type: "boolean" } });
      const dir = requireString(values.dir, "dir");
      reportModes(dir);
      const entries = listCertificates(requireCa(dir));
      console.log(values.json ? JSON.stringify(entries, null, 2) : formatTable(entries));
      return 0;
    }
    case "revoke": {
      const { values } = parseCommandArgs(argv, {
        ...commonOptions,
        device: { type: "string" },
        gateway: { type: "string" },
        server: { type: "string" },
        serial: { type: "string" },
        reason: { type: "string" },
      });
      const dir = requireString(values.dir, "dir");
      const reason = (values.reason ?? "keyCompromise") as RevocationReason;
      if (!REVOCATION_REASONS.includes(reason)) throw new UsageError(`--reason must be one of ${REVOCATION_REASONS.join(", ")}`);
      const targets = [values.device, values.gateway, values.server, values.serial].filter((v) => v !== undefined);
      if (targets.length !== 1) throw new UsageError("give exactly one of --device, --gateway, --server, --serial");
      reportModes(dir);
      const layout = requireCa(dir);
      const revoked =
        values.serial !== undefined
          ? await revokeSerial(layout, values.serial, reason)
          : await revokeEntity(layout, values.device !== undefined ? "device" : values.gateway !== undefined ? "gateway" : "server", targets[0] as string, reason);
      console.log(`revoked serial ${revoked.serial} (${revoked.subject}), reason ${reason}; CRL written to ${revoked.crlPath}`);
      return 0;
    }
    case "crl": {
      const { values } = parseCommandArgs(argv, commonOptions);
      const dir = requireString(values.dir, "dir");
      reportModes(dir);
      console.log(`CRL written to ${await generateCrl(requireCa(dir))}`);
      return 0;
    }
    case "token": {
      const { values } = parseCommandArgs(argv, { ...commonOptions, gateway: { type: "string" }, rotate: { type: "boolean" }, stdout: { type: "boolean" } });
      const dir = requireString(values.dir, "dir");
      const gateway = requireString(values.gateway, "gateway");
      reportModes(dir);
      const created = await createGatewayToken(new PkiLayout(dir), gateway, {
        rotate: values.rotate === true,
        ...(values.stdout ? { takeToken: (token: string) => process.stdout.write(`${token}\n`) } : {}),
      });
      // with --stdout, stdout carries only the token; everything else goes to stderr
      const say = values.stdout ? (line: string) => console.error(line) : (line: string) => console.log(line);
      if (created.tokenFile) say(`token for gateway ${gateway} written to ${created.tokenFile} (0600): point the gateway's sink.tokenFile at it`);
      say(`hash for the ingest config (also in ${created.hashFile}):\n\n${created.configSnippet}`);
      return 0;
    }
    case "release-key": {
      const { values } = parseCommandArgs(argv, { out: { type: "string" } });
      const out = requireString(values.out, "out");
      const files = createReleaseKey(out);
      // paths only: the key itself never reaches the terminal
      console.log(`release-signing key pair created (ECDSA P-256):\n  private ${files.privateKey} (0600, keep offline)\n  public  ${files.publicPem} (gateway ota.releasePublicKeyFile)\n  device  ${files.publicRaw} (65-byte point, built into the firmware)`);
      return 0;
    }
    default:
      throw new UsageError(`unknown subcommand "${subcommand}" (try: ${Object.keys(subcommandHelp).join(", ")})`);
  }
}

export const pkiCommand: Command = {
  name: "pki",
  summary: "fleet CA: device/gateway/server certificates, revocation and CRL, gateway tokens; release-signing key",
  help,
  async run(argv) {
    const [subcommand, ...rest] = argv;
    if (subcommand === undefined || subcommand === "-h" || subcommand === "--help") {
      console.log(help);
      return subcommand === undefined ? 2 : 0;
    }
    const subHelp = subcommandHelp[subcommand];
    if (subHelp !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
      console.log(subHelp);
      return 0;
    }
    try {
      return await runSubcommand(subcommand, rest);
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(subHelp !== undefined ? `${error.message}\n\n${subHelp}` : error.message);
      // an operational failure (openssl error, existing CA, bad id): one clear line, exit 1
      console.error(`vibewatch pki ${subcommand}: ${(error as Error).message}`);
      return 1;
    }
  },
};
