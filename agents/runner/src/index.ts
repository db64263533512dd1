export * from './records.js';
export * from './runner-process.js';
export * from './clock-status.js';
export * from './aggregations.js';
// Stack keys symbolised on the host: kernel frames from kallsyms, user frames from the mapped ELF files.
export * from './stacks/stack-symbolizer.js';
export * from './stacks/event-stacks.js';
export * from './stacks/kernel-symbols.js';
export * from './stacks/user-symbols.js';
// What this host is (kernel and binary profiles): read by the agent for its hello and by `tapfleet run`.
export * from './profile/kernel-profile.js';
export * from './profile/binary-profile.js';
export * from './stacks/host-time.js';
