import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files of a throwaway PKI: a CA, a server certificate for 127.0.0.1/localhost, a client certificate. */
export interface TestPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });

/** One P-256 key + certificate signed by `ca` (or self-signed when `ca` is absent), with extensions. */
function issue(dir: string, name: string, subject: string, extensions: string, ca?: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  if (!ca) {
    openssl(['req', '-x509', '-new', '-key', key, '-out', cert, '-days', '2', '-subj', subject, '-extensions', 'v3', '-config', ext]);
  } else {
    const csr = join(dir, `${name}.csr`);
    openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject]);
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext, '-extensions', 'v3']);
  }
  return { cert, key };
}

/** A CA made by the test, and certificates under it: never a real authority, valid two days. */
export function makeTestPki(dir: string, caName = 'tapfleet-test-ca'): TestPki {
  const ca = issue(dir, `${caName}`, `/CN=${caName}`, '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\n');
  const server = issue(dir, `${caName}-server`, '/CN=localhost', '[v3]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n', ca);
  const client = issue(dir, `${caName}-client`, '/CN=tapfleet-client', '[v3]\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n', ca);
  return { caFile: ca.cert, serverCertFile: server.cert, serverKeyFile: server.key, clientCertFile: client.cert, clientKeyFile: client.key };
}
