import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { TlsClientFiles, TlsServerFiles } from '@tapfleet/schemas';

/** A PEM bundle is kilobytes; a path pointing at something huge (a device, a log) is refused, not read. */
const MAX_PEM_BYTES = 1 << 20;

/** One PEM file's bytes, bounded, with an error that names the file and what it was for. */
export function readPemFile(path: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`the ${what} ${path} is not a regular file`);
    if (st.size > MAX_PEM_BYTES) throw new Error(`the ${what} ${path} is ${st.size} bytes; a PEM file is at most ${MAX_PEM_BYTES}`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    const pem = buf.subarray(0, off);
    if (!pem.includes('-----BEGIN ')) throw new Error(`the ${what} ${path} holds no PEM block (expected -----BEGIN ...)`);
    return pem;
  } finally {
    closeSync(fd);
  }
}

/** What a TLS client hands its library: trusted CAs and an optional client certificate. */
export interface ClientTlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Reads a client's TLS files (`nats.tls`, `clickhouse.tls`, `redis.tls`, a service's `caFile`). */
export function clientTlsMaterial(files: TlsClientFiles, service: string): ClientTlsMaterial {
  return {
    ...(files.caFile ? { ca: readPemFile(files.caFile, `CA file for ${service}`) } : {}),
    ...(files.certFile ? { cert: readPemFile(files.certFile, `client certificate for ${service}`) } : {}),
    ...(files.keyFile ? { key: readPemFile(files.keyFile, `client key for ${service}`) } : {}),
  };
}

/** What an HTTPS server hands node:https: its chain and key, and the CA its clients must chain to (mutual TLS). */
export interface ServerTlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert: boolean;
  rejectUnauthorized: boolean;
}

export function serverTlsMaterial(files: TlsServerFiles, service: string): ServerTlsMaterial {
  const ca = files.clientCaFile ? readPemFile(files.clientCaFile, `client CA file for ${service}`) : undefined;
  return {
    cert: readPemFile(files.certFile, `certificate for ${service}`),
    key: readPemFile(files.keyFile, `key for ${service}`),
    ...(ca ? { ca } : {}),
    requestCert: ca !== undefined,
    rejectUnauthorized: ca !== undefined,
  };
}
