/**
 * A broker refuses a produce request whose record batch for one partition is over its
 * `message.max.bytes` (1 MiB by default), and kafkajs retries a refused send for ever: a mirror
 * must never hand it a whole flush (tens of thousands of spans). Sends of at most `maxBytes` of
 * keys and values, in order, stay under the limit whatever the partitioning; a single message
 * larger than that goes alone.
 */
export const KAFKA_SEND_BYTES = 512 * 1024;

export function kafkaSendChunks<M extends { key?: string | Buffer | null; value: string | Buffer | null }>(messages: readonly M[], maxBytes = KAFKA_SEND_BYTES): M[][] {
  const chunks: M[][] = [];
  let chunk: M[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = Buffer.byteLength(m.key ?? '') + Buffer.byteLength(m.value ?? '');
    if (chunk.length && bytes + size > maxBytes) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(m);
    bytes += size;
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}
