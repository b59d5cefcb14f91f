// A self-signed serving certificate for --secure-serving without --cert-path, as llm-d's endpoint picker does:
// gateways reach the router with TLS but skip verification. Written as tls.crt / tls.key into a fresh
// private temporary directory, the layout the ext_proc server reads.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export async function writeSelfSignedCertificate(commonName: string): Promise<string> {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 3650 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: commonName },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), 'router-tls-'));
  } catch (err) {
    throw new Error(
      `--secure-serving without --cert-path needs a writable temporary directory (${tmpdir()}) for a ` +
        `self-signed certificate: ${err instanceof Error ? err.message : String(err)}; mount a TLS secret ` +
        `and pass --cert-path, or mount an emptyDir at ${tmpdir()}`,
      { cause: err },
    );
  }
  await writeFile(join(dir, 'tls.crt'), pems.cert, { mode: 0o600 });
  await writeFile(join(dir, 'tls.key'), pems.private, { mode: 0o600 });
  return dir;
}
