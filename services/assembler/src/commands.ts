import { untilSignal, type Command } from '@tapfleet/runtime';

export const assemblerCommand: Command = {
  path: ['assembler'],
  summary: 'run the assembler: events that share a transaction key -> clock-corrected spans in ClickHouse (txn_spans) and over OTLP',
  details:
    'Replicas share the work by transaction key: set assembler.partitions and assembler.partition (config file) per replica; to rebalance, stop every replica and start the new set. ' +
    'OTLP export is on when assembler.otlp.url is set (env TAPFLEET_OTLP_URL). Runs until SIGINT/SIGTERM.',
  async run(_v, _p, { config, log }) {
    // Loaded here, not at the top: the OpenTelemetry exporter is only for this long-running command.
    const { AssemblerService } = await import('./assembler-service.js');
    const service = await AssemblerService.start(config, log);
    await untilSignal();
    await service.stop();
    return 0;
  },
};

export const assemblerCommands: Command[] = [assemblerCommand];
