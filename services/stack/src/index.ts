export * from './stack.js';
export * from './commands.js';
export * from './debian-packages.js';
export * from './owned-process.js';
export * from './tcp-port.js';
export * from './tracefs.js';
export type { StackService, ServiceDirs } from './services/service.js';
export * from './health-wait.js';
export { withTimeout } from './services/service.js';
