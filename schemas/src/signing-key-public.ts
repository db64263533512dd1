import { z } from 'zod/v3';
import { Sha256Hex } from './common.js';

/**
 * The public half of a host's signing key, kept beside it (<key>.pub.json) by `tapfleet run`, so a
 * run whose bundle is in the compile cache verifies it without parsing the private key. Names the
 * key it was derived from by the SHA-256 of the key file's bytes: any other key there makes the
 * public half derived again from the key itself.
 */
export const SigningKeyPublicFile = z.object({
  format: z.literal('tapfleet-signing-key-public/1'),
  publicKeyPem: z.string().startsWith('-----BEGIN PUBLIC KEY-----').max(4096),
  keySha256: Sha256Hex,
});
export type SigningKeyPublicFile = z.infer<typeof SigningKeyPublicFile>;
