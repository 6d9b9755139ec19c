// Certificates for the tests of mutual TLS, made with openssl: a CA tether
// trusts, a server certificate, a client of that CA and a rogue client.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** In `dir`: ca.pem, a server certificate for 127.0.0.1, clients `docker` (of ca) and `rogue` (of rogue-ca). */
export async function pki(dir: string): Promise<void> {
  // Two CAs: tether trusts only the first; the second signs a rogue client.
  const script =
    `set -e; cd "$1"
    ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out ` +
    `"$1.csr" -subj "/CN=$1" 2>/dev/null; }
    for ca in ca rogue-ca; do openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ` +
    `-keyout $ca.key -out $ca.pem -days 1 -subj /CN=$ca 2>/dev/null; done
    ec server; printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 ` +
    `-extfile server.ext 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\\n' > client.ext
    ec docker; openssl x509 -req -in docker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out docker.pem ` +
    `-days 1 -extfile client.ext 2>/dev/null
    ec rogue; openssl x509 -req -in rogue.csr -CA rogue-ca.pem -CAkey rogue-ca.key -CAcreateserial -out ` +
    `rogue.pem -days 1 -extfile client.ext 2>/dev/null`;
  await run('sh', ['-c', script, 'sh', dir]);
}
