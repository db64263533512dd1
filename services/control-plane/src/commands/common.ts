import { UsageError } from '@tapfleet/runtime';
import type { DeploymentView, HostDeploymentState } from '@tapfleet/schemas';

export function deploymentIdArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('give exactly one DEPLOYMENT id');
  return positionals[0]!;
}

/** Plain aligned columns: readable in a terminal, greppable in scripts. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function hostStateText(s: HostDeploymentState): string {
  let text = s.state;
  if (s.reason) text += `(${s.reason})`;
  if (s.runnerRestarts) text += ` restarts=${s.runnerRestarts}`;
  return text;
}

export function hostRows(view: DeploymentView): string[][] {
  return Object.entries(view.hosts).sort(([a], [b]) => a.localeCompare(b)).map(([host, s]) => {
    const target = view.targets.find((t) => t.hostId === host);
    const loss = s.loss ? `${s.loss.published}/${s.loss.producedByKernel}` : '-';
    const load = s.load ? `${s.load.cpuPercent.toFixed(2)}% ${Math.round(s.load.eventsPerSec)}/s` : '-';
    return [host, target?.canary ? 'canary' : '', hostStateText(s), loss, load];
  });
}

export const HOST_HEADER = ['HOST', 'ROLE', 'STATE', 'PUBLISHED/PRODUCED', 'LOAD'];

export const ago = (ms: number) => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
};
