import { BatchFormatError, identityMismatch, scanEventBatch, type BundleManifest, type ScannedBatch } from '@tapfleet/schemas';
import type { ManifestCache } from './manifest-cache.js';

/** One message of the events stream, read as every reader of it must. */
export type BatchMessage =
  /** A well-formed batch from the host its subject names, and its bundle's manifest. */
  | { kind: 'batch'; batch: ScannedBatch; manifest: BundleManifest }
  /** It can never be read (malformed, forged, or its bundle unknown): dead-letter it with this reason. */
  | { kind: 'malformed'; reason: string }
  /** The bundles store did not answer: nak it and try later. */
  | { kind: 'retry' };

/**
 * Checks an events-stream message the one way ingest, the assembler and the Kafka mirror all
 * do: a TFB1 batch (schemas' scanEventBatch), whose header names the host and deployment of its
 * subject (the server lets an agent publish only its own), of a bundle in the store. Its records
 * are then fitted to that bundle's layouts by the caller (schemas' fitBatch).
 */
export async function readBatchMessage(subject: string, data: Uint8Array, manifests: Pick<ManifestCache, 'get'>): Promise<BatchMessage> {
  let batch: ScannedBatch;
  try {
    batch = scanEventBatch(data);
  } catch (e) {
    if (!(e instanceof BatchFormatError)) throw e;
    return { kind: 'malformed', reason: e.message };
  }
  const forged = identityMismatch(subject, batch.header);
  if (forged) return { kind: 'malformed', reason: forged };
  const manifest = await manifests.get(batch.header.bundleId).catch(() => null);
  if (manifest === null) return { kind: 'retry' };
  if (!manifest) return { kind: 'malformed', reason: `bundle ${batch.header.bundleId} is not in the object store` };
  return { kind: 'batch', batch, manifest };
}
