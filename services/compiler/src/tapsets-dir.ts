import { join } from 'node:path';
import { PROJECT_ROOT } from '@tapfleet/runtime/light';

/** Where the tapset files live; apart from tapsets.ts so the compile cache can hash them without loading the parser. */
export const TAPSETS_DIR = join(PROJECT_ROOT, 'tapsets');
