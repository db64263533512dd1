import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { loadOrCreateSigningKey } from '@tapfleet/compiler';

export const controlPlaneDir = (dataDir: string) => join(dataDir, 'control-plane');
export const publicKeyPath = (dataDir: string) => join(controlPlaneDir(dataDir), 'signing-key.pub');

/**
 * The bundle signing key, created on first start. Its public half is written next to
 * it: that file is what agents are configured to trust (`agent.trustedKeyFile`).
 */
export function controlPlaneSigningKey(dataDir: string): { privateKey: KeyObject; publicKeyPem: string } {
  const key = loadOrCreateSigningKey(join(controlPlaneDir(dataDir), 'signing-key.pem'));
  writeFileSync(publicKeyPath(dataDir), key.publicKeyPem, { mode: 0o644 });
  return key;
}
