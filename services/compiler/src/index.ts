/** The probe language: script + profiles -> signed bundle (lexer, parser, passes, codegen, bundles), and kernel images -> profiles. */
export * from './compile.js';
export * from './compile-bundle.js';
export * from './worker-compile.js';
export * from './diagnostics.js';
export * from './source.js';
export type { Alias } from './ast.js';
export * from './tapsets.js';
export * from './tapset-doc.js';
export * from './bundle/bundle.js';
export * from './bundle/signing.js';
export { BuildError, BuildTimeoutError, DEFAULT_CLANG_TIMEOUT_MS, type BuildOptions } from './bundle/clang.js';
export { LIMITS } from './limits.js';
export { COMPILER_VERSION } from './version.js';
export { readKernelImage, parseKernelImage, KernelImageError, type KernelImage } from './kernel-image/kernel-image.js';
export { deriveKernelProfile, subsystemsOf, type DerivedProfile } from './kernel-image/derive-profile.js';
export { Btf, BtfError, BtfKind } from './kernel-image/btf.js';
export type { Underived } from './kernel-image/trace-event-layouts.js';
