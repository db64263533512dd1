/**
 * This host's signing key for `tapfleet run`, `compile` and `check`: the compiler's ed25519 key
 * file (loadOrCreateSigningKey), with its public half kept beside it (<key>.pub.json), because a
 * run whose bundle is in the compile cache only verifies: parsing the private key and exporting its
 * public half cost every cached run ~3 ms of its start, hashing the key file's 119 bytes a few µs.
 * The kept half names the SHA-256 of the key file it came from, so a bundle is only ever verified
 * under the key the file holds now, as when the half was derived on every run: another key there
 * (replaced, rewritten) has its public half derived again and kept anew.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { SigningKeyPublicFile } from '@tapfleet/schemas';
import { loadOrCreateSigningKey } from '@tapfleet/compiler/light';

export interface LocalSigningKey {
  /** Read from the key file on first use: a run whose bundle is cached never signs. */
  readonly privateKey: KeyObject;
  readonly publicKeyPem: string;
}

export const publicHalfPath = (keyPath: string) => `${keyPath}.pub.json`;

function keySha256(keyPath: string): string | undefined {
  try {
    return createHash('sha256').update(readFileSync(keyPath)).digest('hex');
  } catch {
    return undefined; // no key yet: loadOrCreateSigningKey makes it
  }
}

/** The kept public half, if it was derived from the key the file holds now. */
function keptPublicHalf(keyPath: string, sha256: string): string | undefined {
  try {
    const kept = SigningKeyPublicFile.safeParse(JSON.parse(readFileSync(publicHalfPath(keyPath), 'utf8')));
    return kept.success && kept.data.keySha256 === sha256 ? kept.data.publicKeyPem : undefined;
  } catch {
    return undefined; // none yet, or unreadable: derived and written again
  }
}

/** Written atomically beside the key (mode 0600, as the key); a key directory not writable only costs the next run the derivation. */
function keepPublicHalf(keyPath: string, publicKeyPem: string, sha256: string): void {
  const path = publicHalfPath(keyPath);
  const temp = `${path}.tmp-${process.pid}`;
  const file: SigningKeyPublicFile = { format: 'tapfleet-signing-key-public/1', publicKeyPem, keySha256: sha256 };
  try {
    writeFileSync(temp, JSON.stringify(file), { mode: 0o600 });
    renameSync(temp, path);
  } catch {
    rmSync(temp, { force: true });
  }
}

/** The signing key at `keyPath` (made on first use), its public half from beside it when that is the key's. */
export function localSigningKey(keyPath: string): LocalSigningKey {
  const sha256 = keySha256(keyPath);
  const kept = sha256 && keptPublicHalf(keyPath, sha256);
  if (kept) {
    let loaded: { privateKey: KeyObject; publicKeyPem: string } | undefined;
    return {
      // Once the private key is read (a miss), its own half: a kept one that is not (planted, corrupted, with the
      // key's hash) made every fresh bundle fail its verification, run after run; it is kept anew.
      get publicKeyPem() {
        return loaded?.publicKeyPem ?? kept;
      },
      get privateKey() {
        // The file hashed above, read again on a miss: a key replaced in between fails the fresh bundle's verification (run.ts), never passes it.
        if (!loaded) {
          loaded = loadOrCreateSigningKey(keyPath);
          // Kept under the hash only while the file still holds the bytes hashed (not a key swapped in meanwhile).
          if (loaded.publicKeyPem !== kept && keySha256(keyPath) === sha256) keepPublicHalf(keyPath, loaded.publicKeyPem, sha256);
        }
        return loaded.privateKey;
      },
    };
  }
  const key = loadOrCreateSigningKey(keyPath);
  const made = keySha256(keyPath);
  if (made) keepPublicHalf(keyPath, key.publicKeyPem, made);
  return key;
}
