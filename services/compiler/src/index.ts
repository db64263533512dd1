/** The probe language: lexer, parser, passes, codegen, bundles, and the single-host commands. */
export { compilerCommands as commands } from './commands/index.js';
export * from './compile.js';
export * from './host-compile.js';
export * from './worker-compile.js';
export * from './diagnostics.js';
export * from './source.js';
export type { Alias } from './ast.js';
export * from './tapsets.js';
export * from './tapset-doc.js';
export * from './run-session.js';
export * from './bundle/bundle.js';
export * from './bundle/signing.js';
export { BuildError, BuildTimeoutError, DEFAULT_CLANG_TIMEOUT_MS, type BuildOptions } from './bundle/clang.js';
export { LIMITS } from './limits.js';
export { hostKernelProfile, readBinaryProfile, ProfileError, ElfError } from '@tapfleet/runner';
export { COMPILER_VERSION } from './version.js';
export { mapText } from './output/format.js';
