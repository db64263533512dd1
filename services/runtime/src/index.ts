export * from './paths.js';
export * from './config.js';
export * from './logger.js';
export * from './nats.js';
export * from './clickhouse.js';
export * from './redis.js';
export * from './cli.js';
