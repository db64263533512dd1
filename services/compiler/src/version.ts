/** Part of every compile-cache key and bundle manifest: bump when generated code changes. */
export const COMPILER_VERSION = '0.2.1';
