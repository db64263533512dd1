import { parseBundle, publishedManifest, type BundleManifest } from '@tapfleet/schemas';
import type { BlobReader } from './object-reader.js';

/**
 * Bundle manifests by bundle id, read from the bundles object store and cached. A failed
 * read (NATS hiccup) is not cached and rejects (callers retry later); a bundle that is not
 * in the store resolves undefined and stays so. `onFirstSight` runs once per bundle read.
 * The manifest is the published one (publishedManifest): its readers decode published batches,
 * whose stack fields the agent has turned into text.
 */
export class ManifestCache {
  private readonly cache = new Map<string, Promise<BundleManifest | undefined>>();

  constructor(
    private readonly bundles: BlobReader,
    private readonly onFirstSight?: (manifest: BundleManifest) => Promise<void>,
  ) {}

  get(bundleId: string): Promise<BundleManifest | undefined> {
    let p = this.cache.get(bundleId);
    if (!p) {
      p = this.load(bundleId);
      this.cache.set(bundleId, p);
      p.catch(() => this.cache.delete(bundleId));
    }
    return p;
  }

  private async load(bundleId: string): Promise<BundleManifest | undefined> {
    const bytes = await this.bundles.getBlob(bundleId);
    if (!bytes) return undefined;
    const manifest = publishedManifest(parseBundle(new TextDecoder().decode(bytes)).manifest);
    await this.onFirstSight?.(manifest);
    return manifest;
  }
}
