import { createHash } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ObjectStore } from '@nats-io/obj';

/** What readers of a store need: the bytes of one object, or null when there is none. */
export interface BlobReader {
  getBlob(name: string): Promise<Uint8Array | null>;
}

/**
 * Reads whole objects from an object store with JetStream's direct get, chunk by chunk,
 * instead of the client's per-read consumer: readers (agents, ingest) then need no right to
 * create consumers on the store, a right a stolen credential could use to create them
 * without bound. The object's size and SHA-256 digest are checked like the client does.
 */
export class DirectObjectReader implements BlobReader {
  private readonly stream: string;

  constructor(private readonly jsm: JetStreamManager, private readonly store: ObjectStore, private readonly storeName: string, private readonly maxBytes = 64 << 20) {
    this.stream = `OBJ_${storeName}`;
  }

  async getBlob(name: string): Promise<Uint8Array | null> {
    const info = await this.store.info(name);
    if (!info || info.deleted) return null;
    if (info.size > this.maxBytes) throw new Error(`object ${name} is ${info.size} bytes, over the ${this.maxBytes}-byte limit for a read`);
    const subject = `$O.${this.storeName}.C.${info.nuid}`;
    const out = new Uint8Array(info.size);
    const sha = createHash('sha256');
    let at = 0;
    let seq = 1;
    for (let chunk = 0; chunk < info.chunks; chunk++) {
      const m = await this.jsm.direct.getMessage(this.stream, { seq, next_by_subj: subject });
      if (!m) throw new Error(`object ${name}: chunk ${chunk + 1} of ${info.chunks} is missing`);
      if (at + m.data.length > out.length) throw new Error(`object ${name}: chunks exceed its size ${info.size}`);
      out.set(m.data, at);
      sha.update(m.data);
      at += m.data.length;
      seq = m.seq + 1;
    }
    if (at !== info.size) throw new Error(`object ${name}: read ${at} bytes of ${info.size}`);
    const digest = `SHA-256=${sha.digest('base64').replace(/\+/g, '-').replace(/\//g, '_')}`;
    if (digest !== info.digest) throw new Error(`object ${name}: digest ${digest} does not match ${info.digest}`);
    return out;
  }
}
