import { canonicalJson, sha256Hex, type BinaryRef, type HostView, type KernelSummary } from '@tapfleet/schemas';

/** Hosts that can share one bundle: same kernel build, same builds of the binaries the script probes. */
export interface BuildGroup {
  key: string;
  kernel: KernelSummary;
  /** `$name` -> path as these hosts configured them. */
  binaryPaths: Record<string, string>;
  /** The binaries the script probes, as these hosts reported them. */
  binaries: BinaryRef[];
  hosts: HostView[];
}

/**
 * Groups selected hosts by what a bundle is compiled against. One compile per kernel
 * build-id in a homogeneous fleet; a host whose probed binary is another build gets
 * its own bundle rather than one it would refuse.
 */
export function groupHosts(hosts: HostView[], probedPaths: (binaryPaths: Record<string, string>) => string[]): BuildGroup[] {
  const groups = new Map<string, BuildGroup>();
  for (const h of hosts) {
    const binaryPaths = Object.fromEntries(h.binaries.map((b) => [b.name, b.path]));
    const probed = new Set(probedPaths(binaryPaths));
    const binaries = h.binaries.filter((b) => probed.has(b.path)).sort((a, b) => a.path.localeCompare(b.path));
    const binaryPart = binaries.length ? `/${sha256Hex(canonicalJson({ paths: binaryPaths, builds: binaries.map((b) => [b.path, b.buildId]) })).slice(0, 12)}` : '';
    // The profile digest is part of the key: a host reporting a different profile for the same
    // build (a forged one included) never shares, or decides, another host's bundle.
    const key = `${h.kernel.buildId}-${h.kernel.profileDigest.slice(0, 12)}${binaryPart}`;
    const g = groups.get(key);
    if (g) g.hosts.push(h);
    else groups.set(key, { key, kernel: h.kernel, binaryPaths, binaries, hosts: [h] });
  }
  return [...groups.values()];
}
