/**
 * Which replica owns a transaction: FNV-1a (32-bit) of "deployment\0txn" modulo the partition
 * count. Every replica computes the same owner for a key, so all of one transaction's events,
 * from every host, meet in one replica.
 */
export function partitionOf(deployment: string, txn: string, partitions: number): number {
  if (partitions === 1) return 0;
  let h = 0x811c9dc5;
  const s = `${deployment}\0${txn}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
