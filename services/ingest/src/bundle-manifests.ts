import { ManifestCache, type BlobReader } from '@tapfleet/runtime';
import { slotFields } from './event-slots.js';

/** Bundle manifests by id (cached, runtime's ManifestCache); the first sight of a bundle records its slot map in event_layouts. */
export class BundleManifests extends ManifestCache {
  constructor(bundles: BlobReader, ch: { insertJson: (table: string, rows: object[]) => Promise<void> }) {
    super(bundles, async (manifest) => {
      const now = new Date().toISOString().slice(0, 19).replace('T', ' ');
      await ch.insertJson('event_layouts', manifest.events.map((e) => ({ bundle: manifest.bundleId, event_id: e.id, event: e.name, fields: JSON.stringify(slotFields(e)), first_seen: now })));
    });
  }
}
