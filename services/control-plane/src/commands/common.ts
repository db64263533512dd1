import { terminalWord, textTable, UsageError } from '@tapfleet/runtime';
import type { DeploymentView, HostDeploymentState } from '@tapfleet/schemas';

export function deploymentIdArg(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError('give exactly one DEPLOYMENT id');
  return positionals[0]!;
}

/** Plain aligned columns, every cell escaped for the terminal (runtime's textTable). */
export const table = textTable;

/** A host's state; its reason is the agent's words, a newline in them escaped, so it cannot print a line of its own (`tapfleet deploy`'s rollout lines). */
export function hostStateText(s: HostDeploymentState): string {
  let text = s.state;
  if (s.reason) text += `(${terminalWord(s.reason)})`;
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
