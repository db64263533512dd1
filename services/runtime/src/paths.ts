import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** The repository root (this file lives at services/runtime/{src,dist}/paths.*). */
export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** Project-local state directory, git-ignored. */
export const DEFAULT_DATA_DIR = resolve(PROJECT_ROOT, '.tapfleet');

/** The control plane's first admin token (0600), which local CLIs and the local agent use by default. */
export const adminTokenPath = (dataDir: string): string => resolve(dataDir, 'control-plane', 'admin-token');
