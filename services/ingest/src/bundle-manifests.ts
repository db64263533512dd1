import type { BlobReader } from '@tapfleet/runtime';
import { parseBundle, type BundleManifest } from '@tapfleet/schemas';
import { slotFields } from './event-slots.js';

/** Bundle manifests by id, from the bundles object store, cached; the first sight of a bundle records its slot map. */
export class BundleManifests {
  private readonly cache = new Map<string, Promise<BundleManifest | undefined>>();

  constructor(private readonly bundles: BlobReader, private readonly ch: { insertJson: (table: string, rows: object[]) => Promise<void> }) {}

  get(bundleId: string): Promise<BundleManifest | undefined> {
    let p = this.cache.get(bundleId);
    if (!p) {
      p = this.load(bundleId);
      this.cache.set(bundleId, p);
      // A failed fetch (NATS hiccup) must not be cached; a missing bundle stays missing.
      p.catch(() => this.cache.delete(bundleId));
    }
    return p;
  }

  private async load(bundleId: string): Promise<BundleManifest | undefined> {
    const bytes = await this.bundles.getBlob(bundleId);
    if (!bytes) return undefined;
    const manifest = parseBundle(new TextDecoder().decode(bytes)).manifest;
    const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
    await this.ch.insertJson('event_layouts', manifest.events.map((e) => ({ bundle: bundleId, event_id: e.id, event: e.name, fields: JSON.stringify(slotFields(e)), first_seen: now })));
    return manifest;
  }
}

