/**
 * `@tapfleet/compiler/light`: what a caller needs around a compile without loading the compiler's
 * front end (parser, passes, clang driver): the compile error and its text, the version and tapsets
 * directory a compile cache keys on, the signing key, the printf format grammar a runner's output
 * is formatted with. `tapfleet --help`, and a `tapfleet run` whose bundle is cached, load only this.
 */
export { CompileError, formatDiagnostic, type Diagnostic } from './diagnostics.js';
export { COMPILER_VERSION } from './version.js';
export { bpfHeadersDigest } from './bundle/bpf-headers.js';
export { TAPSETS_DIR } from './tapsets-dir.js';
export { TAPSET_DOC_PATH } from './tapset-doc.js';
export { loadOrCreateSigningKey } from './bundle/signing.js';
export type { BuildOptions } from './bundle/clang.js';
export { parseFormat, type ConversionSpec, type FormatPiece } from './printf-spec.js';
