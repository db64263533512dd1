import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { TRACEFS } from './tracefs.js';

/** One reason this machine cannot run tapfleet's eBPF programs, and what to do about it. */
export interface KernelProblem {
  what: string;
  fix: string;
}

export interface PreflightProbes {
  uid: () => number | undefined;
  exists: (path: string) => boolean;
  /** Runs `bpftool prog show` (the bpf() syscall's simplest use); returns the error text or undefined. */
  bpfSyscall: () => string | undefined;
  release: () => string;
}

const realProbes: PreflightProbes = {
  uid: () => process.getuid?.(),
  exists: existsSync,
  bpfSyscall() {
    try {
      execFileSync('bpftool', ['prog', 'show'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
      return undefined;
    } catch (e) {
      const err = e as { code?: string; stderr?: Buffer };
      if (err.code === 'ENOENT') return undefined; // not installed yet: `tapfleet setup` installs it; the agent's load will tell
      return (err.stderr?.toString() ?? String(e)).trim().split('\n')[0];
    }
  },
  release: () => readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
};

/**
 * What the agents' runner needs from this machine, checked before anything starts so a user
 * hears it plainly instead of from a failed load deep in an agent's log: root (loading BPF and
 * attaching uprobes need CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN), the kernel's BTF (bundles are
 * compiled against it), tracefs (tracepoint and uprobe registration) and a working bpf() syscall.
 */
export function kernelPreflight(probes: PreflightProbes = realProbes): KernelProblem[] {
  const problems: KernelProblem[] = [];
  if (probes.uid() !== 0) {
    problems.push({ what: 'this is not root: loading eBPF programs and attaching uprobes needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)', fix: 'run it as root, e.g. `sudo npm start`' });
    return problems; // the other checks need root to mean anything
  }
  if (!probes.exists('/sys/kernel/btf/vmlinux'))
    problems.push({ what: `kernel ${probes.release()} has no BTF (/sys/kernel/btf/vmlinux is missing)`, fix: 'boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, Fedora and RHEL kernels since 2020 are)' });
  if (!probes.exists(`${TRACEFS}/events`) && !probes.exists(TRACEFS))
    problems.push({ what: 'this kernel has no tracefs (/sys/kernel/tracing)', fix: 'boot a kernel with CONFIG_FTRACE; in a container, run it privileged with /sys mounted read-write' });
  else if (probes.exists(`${TRACEFS}/events`) && !probes.exists(`${TRACEFS}/uprobe_events`))
    problems.push({ what: 'this kernel has no uprobes (no uprobe_events in tracefs): the demo is traced through USDT points', fix: 'boot a kernel with CONFIG_UPROBE_EVENTS=y' });
  const bpf = probes.bpfSyscall();
  if (bpf !== undefined)
    problems.push({ what: `the bpf() syscall is refused here (${bpf})`, fix: 'in a container, run it privileged (or with CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN); on a host, check kernel.unprivileged_bpf_disabled and lockdown' });
  return problems;
}

/** The problems as lines a person reads first. */
export function preflightText(problems: KernelProblem[]): string[] {
  return ['tapfleet cannot run eBPF on this machine:', ...problems.flatMap((p) => [`  - ${p.what}`, `    what to do: ${p.fix}`])];
}
