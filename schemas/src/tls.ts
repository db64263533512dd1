import { z } from 'zod/v3';

const AbsPath = z.string().startsWith('/', 'expected an absolute path');

/**
 * How a tapfleet process connects to a server over TLS: whom it trusts (a PEM CA bundle; default:
 * the system's CAs) and, for servers that require client certificates (mutual TLS), its own
 * certificate and key. Certificate and key come together or not at all.
 */
export const TlsClientFiles = z.object({
  caFile: AbsPath.optional(),
  certFile: AbsPath.optional(),
  keyFile: AbsPath.optional(),
}).strict().refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), {
  message: 'certFile and keyFile go together (a client certificate needs its key)',
  path: ['certFile'],
});
export type TlsClientFiles = z.infer<typeof TlsClientFiles>;

/**
 * A TLS server's certificate chain and key (PEM); with `clientCaFile` it also requires every
 * client to present a certificate signed by that CA (mutual TLS).
 */
export const TlsServerFiles = z.object({
  certFile: AbsPath,
  keyFile: AbsPath,
  clientCaFile: AbsPath.optional(),
}).strict();
export type TlsServerFiles = z.infer<typeof TlsServerFiles>;
