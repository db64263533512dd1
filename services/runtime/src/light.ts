/**
 * `@tapfleet/runtime/light`: what every command needs to start, and `tapfleet run` to run: the
 * command runner with its config loader and logger, the paths, the long timers. Not the NATS,
 * ClickHouse, Redis, HTTP and auth helpers, nor the schemas they use (agents, deployments, the
 * API): the CLI bundle puts whatever its entry reaches through `@tapfleet/runtime` into the
 * first file every command loads, where each schema is built at start.
 */
export * from './paths.js';
export * from './cli.js';
export * from './long-timer.js';
