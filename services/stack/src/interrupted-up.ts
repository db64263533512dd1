import type { TapfleetConfig } from '@tapfleet/schemas';
import { isOwnedAlive, readPidFile } from './owned-process.js';
import { serviceDirs, serviceGroupName, stackServices, type ServiceName } from './stack.js';

/** The named services with a live process of this stack's (a NATS cluster by any of its nodes). */
export function runningServices(config: TapfleetConfig, names: readonly ServiceName[]): Set<ServiceName> {
  const live = stackServices(config, names).filter((svc) => isOwnedAlive(readPidFile(serviceDirs(config, svc.name).pidFile)));
  return new Set(live.map((svc) => serviceGroupName(svc.name)));
}

/**
 * SIGINT/SIGTERM during `stack up`: aborts the start (stackUp starts no further group and stops
 * waiting for the one starting) and says so at once; a second signal only says a stop is under way.
 * Without it Node would die at Ctrl-C and leave the servers it had started running, unreported.
 */
export class UpInterrupt {
  private readonly abort = new AbortController();
  readonly signal: AbortSignal = this.abort.signal;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    if (this.abort.signal.aborted) {
      process.stderr.write(`${sig}: already stopping what this started, please wait\n`);
      return;
    }
    process.stderr.write(`${sig}: stopping; nothing more starts, and what this started is stopped\n`);
    this.abort.abort();
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
