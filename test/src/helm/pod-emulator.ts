import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Container, Manifest, PodSpec } from './chart-render.js';

/**
 * What the kubelet would give one container of a rendered pod, laid out under `root` instead of
 * `/`: every configMap and secret volume written as files (its items, or every key), emptyDirs
 * as directories shared by the pod's containers, host paths under `root/host` (so the state dir
 * of the agent is not the machine's). Paths the container sees (`/etc/tapfleet/...`) map to
 * `root + path`, and `remap` rewrites them in the config file, env values and shell lines.
 * Files get the pod's fsGroup and mode as Kubernetes sets them (0440, group fsGroup), so a
 * service run with the pod's uid meets the same permissions it would in the cluster.
 */

export interface PodFiles {
  /** The container's view of a path -> where it is here. */
  remap(text: string): string;
}

/** The Secrets the cluster holds besides the ones the chart renders: name -> key -> content. */
export type ClusterSecrets = Record<string, Record<string, string>>;

const KEEP = ['/tmp', '/sys/kernel/btf', '/sys/kernel/notes', '/sys/kernel/tracing', '/host/proc'];

export function materializePod(manifests: Manifest[], spec: PodSpec, container: Container, root: string, cluster: ClusterSecrets): PodFiles {
  const fsGroup = (spec.securityContext as { fsGroup?: number } | undefined)?.fsGroup;
  const configMaps = new Map(manifests.filter((m) => m.kind === 'ConfigMap').map((m) => [m.metadata.name, m.data ?? {}]));
  const rendered = new Map(manifests.filter((m) => m.kind === 'Secret').map((m) => [m.metadata.name, Object.fromEntries(Object.entries(m.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]))]));
  const mounts = (container.volumeMounts ?? []).filter((m) => !KEEP.includes(m.mountPath));
  const prefixes = mounts.map((m) => m.mountPath).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(?<![\\w/])(${prefixes.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?=[/\\s'"]|$)`, 'g');
  const remap = (text: string) => text.replace(pattern, (p) => root + p);
  for (const m of mounts) {
    const v = (spec.volumes ?? []).find((x) => x.name === m.name);
    if (!v) throw new Error(`mount ${m.name} has no volume`);
    const dir = root + m.mountPath;
    if (v.emptyDir) {
      // One directory per volume, whichever container mounts it first: init and main share it.
      mkdirSync(dir, { recursive: true, mode: 0o777 });
      chmodSync(dir, 0o777);
      continue;
    }
    if (v.hostPath) {
      // The agent's state dir: under root, not the machine's /var/lib.
      mkdirSync(dir, { recursive: true });
      continue;
    }
    const source = v.configMap ? configMaps.get(v.configMap.name) : (rendered.get(v.secret!.secretName) ?? cluster[v.secret!.secretName]);
    if (!source) throw new Error(`${v.configMap ? 'ConfigMap' : 'Secret'} ${v.configMap?.name ?? v.secret?.secretName} does not exist`);
    const items = (v.configMap ?? v.secret)!.items ?? Object.keys(source).map((key) => ({ key, path: key }));
    mkdirSync(dir, { recursive: true });
    for (const item of items) {
      const content = source[item.key];
      if (content === undefined) throw new Error(`key ${item.key} missing from ${v.secret?.secretName ?? v.configMap?.name}`);
      const file = join(dir, item.path);
      mkdirSync(dirname(file), { recursive: true });
      // The config file names the mounted paths: it is rewritten to where they are here.
      writeFileSync(file, v.configMap ? remap(content) : content, { mode: 0o440 });
      if (fsGroup !== undefined) chownSync(file, 0, fsGroup);
      chmodSync(file, v.secret ? 0o440 : 0o444);
    }
  }
  return { remap };
}

/** The container's env with secretKeyRef and fieldRef resolved (fieldRef: spec.nodeName only). */
export function containerEnv(manifests: Manifest[], container: Container, cluster: ClusterSecrets, nodeName: string, remap: (s: string) => string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = remap(e.value);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = nodeName;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const rendered = manifests.find((m) => m.kind === 'Secret' && m.metadata.name === ref.name)?.data?.[ref.key];
      const value = rendered !== undefined ? Buffer.from(rendered, 'base64').toString() : cluster[ref.name]?.[ref.key];
      if (value !== undefined) env[e.name] = value;
    } else throw new Error(`env ${e.name}: unsupported source`);
  }
  return env;
}
