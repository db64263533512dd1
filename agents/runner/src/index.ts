export * from './records.js';
export * from './runner-process.js';
export * from './clock-status.js';
export * from './aggregations.js';
// What this host is (kernel and binary profiles): read by the agent for its hello and by `tapfleet run`.
export * from './profile/kernel-profile.js';
export * from './profile/binary-profile.js';
export * from './profile/elf-notes.js';
