// What a Moddable build of the firmware needs from the PKI for one device: the key and the
// certificate chain as DER resources, and a manifest fragment (manifest_tls.json) that lists them
// and passes their resource names (and the device id of the certificate) through mc/config.
//
// Formats (Moddable modules/crypt/ssl/ssl_cert.js): the client key is parsed with PKCS8.parse, so
// it must be an unencrypted PKCS#8 DER RSA key; client certificates and the pinned CA are DER.
import { join } from "node:path";
import { openssl } from "./openssl.js";
import type { PkiLayout } from "./layout.js";
import { writePublicFile, writeSecretFile } from "./secret-files.js";

/** Resource base names, as the firmware opens them: new Resource(config.tls_key) etc. */
export const MODDABLE_RESOURCES = {
  ca: "vw-ca",
  cert: "vw-device-cert",
  key: "vw-device-key",
} as const;

export const MANIFEST_FRAGMENT_NAME = "manifest_tls.json";

export interface ModdableOutputs {
  caDer: string;
  certDer: string;
  keyDer: string;
  manifestFragment: string;
}

export interface ManifestFragment {
  resources: { "*": string[] };
  config: { device: string; tls_ca: string; tls_cert: string; tls_key: string };
}

export function manifestFragment(deviceId: string): ManifestFragment {
  return {
    // paths are relative to this fragment's folder; Moddable adds the ".der" extension itself
    resources: { "*": [`./${MODDABLE_RESOURCES.ca}`, `./${MODDABLE_RESOURCES.cert}`, `./${MODDABLE_RESOURCES.key}`] },
    config: {
      // the device id comes from the certificate: the firmware's MQTT topics must use its CN
      device: deviceId,
      tls_ca: `${MODDABLE_RESOURCES.ca}.der`,
      tls_cert: `${MODDABLE_RESOURCES.cert}.der`,
      tls_key: `${MODDABLE_RESOURCES.key}.der`,
    },
  };
}

export async function writeModdableOutputs(layout: PkiLayout, deviceId: string): Promise<ModdableOutputs> {
  const files = layout.entity("device", deviceId);
  const outputs: ModdableOutputs = {
    caDer: join(files.dir, `${MODDABLE_RESOURCES.ca}.der`),
    certDer: join(files.dir, `${MODDABLE_RESOURCES.cert}.der`),
    keyDer: join(files.dir, `${MODDABLE_RESOURCES.key}.der`),
    manifestFragment: join(files.dir, MANIFEST_FRAGMENT_NAME),
  };
  writeSecretFile(outputs.keyDer, await openssl(["pkcs8", "-topk8", "-nocrypt", "-in", files.key, "-outform", "DER"]));
  writePublicFile(outputs.certDer, await openssl(["x509", "-in", files.cert, "-outform", "DER"]));
  writePublicFile(outputs.caDer, await openssl(["x509", "-in", layout.caCert, "-outform", "DER"]));
  writePublicFile(outputs.manifestFragment, `${JSON.stringify(manifestFragment(deviceId), null, 2)}\n`);
  return outputs;
}
