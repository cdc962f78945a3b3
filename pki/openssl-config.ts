// The text of the OpenSSL configuration files the PKI drives `openssl ca` with.
//
// Algorithm choice: RSA keys and SHA-256 signatures everywhere, because Moddable's TLS stack
// (modules/crypt/ssl/ssl_cert.js) verifies only RSA (PKCS#1 v1.5) chains and signs the client
// handshake with an RSA PKCS#8 key; an ECDSA CA or device key would not work on the ESP32.

export interface CaConfigOptions {
  /** days a CRL stays valid; Mosquitto refuses every client once the CRL has expired */
  crlDays: number;
}

export function caConfigText(options: CaConfigOptions): string {
  return `# Written by \`vibewatch pki init\`. \`openssl ca\` runs with this folder as its working directory.
[ ca ]
default_ca = vw_ca

[ vw_ca ]
dir              = .
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
certificate      = $dir/ca.crt
private_key      = $dir/ca.key
serial           = $dir/serial
crlnumber        = $dir/crlnumber
default_md       = sha256
default_days     = 825
default_crl_days = ${options.crlDays}
policy           = vw_policy
# a device may be re-keyed (new certificate, same CN) after its old certificate was revoked
unique_subject   = no
# extensions come only from our extension files, never from what a CSR asks for
copy_extensions  = none
email_in_dn      = no
preserve         = no

[ vw_policy ]
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied

[ req ]
distinguished_name = req_dn
prompt             = no

[ req_dn ]
CN = unused

[ v3_ca ]
basicConstraints       = critical, CA:true, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ crl_ext ]
authorityKeyIdentifier = keyid:always
`;
}

export interface LeafExtensionsOptions {
  clientAuth: boolean;
  serverAuth: boolean;
  dnsNames: string[];
  ipAddresses: string[];
}

/** The extension section for one leaf certificate (section name "leaf"). */
export function leafExtensionsText(options: LeafExtensionsOptions): string {
  const usages = [options.clientAuth ? "clientAuth" : "", options.serverAuth ? "serverAuth" : ""].filter(Boolean);
  const names = [...options.dnsNames.map((n) => `DNS:${n}`), ...options.ipAddresses.map((ip) => `IP:${ip}`)];
  return [
    "[ leaf ]",
    "basicConstraints       = critical, CA:false",
    "keyUsage               = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage       = ${usages.join(", ")}`,
    // Moddable matches a server's chain to the pinned CA by the AKI -> SKI key ids
    "subjectKeyIdentifier   = hash",
    "authorityKeyIdentifier = keyid:always",
    names.length > 0 ? `subjectAltName         = ${names.join(", ")}` : "",
    "",
  ].join("\n");
}
