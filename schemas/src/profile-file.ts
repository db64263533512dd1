import { z } from 'zod/v3';
import { BinaryProfile } from './binary-profile.js';
import { KernelProfile } from './kernel-profile.js';

/** A profile file, what `tapfleet profile` prints: a host's kernel and binaries, to compile for it elsewhere. */
export const ProfileFile = z.object({ kernel: KernelProfile, binaries: z.array(BinaryProfile).default([]) });
export type ProfileFile = z.infer<typeof ProfileFile>;
