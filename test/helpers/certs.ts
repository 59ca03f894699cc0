/**
 * Throwaway certificate authorities and certificates for mutual-TLS tests, made with openssl in a fresh
 * temporary directory: `ca(name)` makes a self-signed CA, `cert(name, ca, ext)` a key and certificate
 * with subject CN `name` signed by that CA (`ext`: an openssl extension file's text, e.g. a SAN).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CertKit {
  dir: string;
  /** The path of `<name>.crt`, `<name>.key` and so on in the kit's directory. */
  file(name: string): string;
  ca(name: string): void;
  cert(name: string, ca: string, ext?: string): void;
}

export function certKit(prefix = 'itk3-certs-'): CertKit {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = (name: string): string => path.join(dir, name);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'ignore' });
  return {
    dir,
    file,
    ca(name) {
      ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.crt`), '-days', '2', '-subj', `/CN=${name}`);
    },
    cert(name, ca, ext) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/CN=${name}`);
      const extArgs = ext ? ['-extfile', file(`${name}.ext`)] : [];
      if (ext) writeFileSync(file(`${name}.ext`), ext);
      ssl('x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${ca}.crt`), '-CAkey', file(`${ca}.key`), '-CAcreateserial', '-out', file(`${name}.crt`), '-days', '2', ...extArgs);
    },
  };
}
