import { z } from 'zod';
import { Selector } from './deployment.js';
import { AggregationEntry, Outage } from './agent.js';

/** Durations on the API and CLI: `30s`, `10m`, `2h`, `500ms`. */
export const DurationText = z.string().regex(/^[1-9][0-9]*(ms|s|m|h)$/, 'expected a duration like 30s, 10m or 2h');

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
export function durationMs(text: string): number {
  const m = /^([1-9][0-9]*)(ms|s|m|h)$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

export const CreateDeploymentRequest = z.object({
  scriptName: z.string().min(1).max(256),
  script: z.string().min(1).max(1_000_000),
  selector: Selector,
  ttl: DurationText.default('10m'),
  canary: z.boolean().default(false),
});
export type CreateDeploymentRequest = z.infer<typeof CreateDeploymentRequest>;

/** Every 4xx/5xx body: a stable code, a sentence, and for 400 the offending fields. */
export const ApiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ApiError = z.infer<typeof ApiError>;

export const Role = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;

export const CreateTokenRequest = z.object({ name: z.string().min(1).max(64), role: Role });
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** `GET /v1/deployments/:id/aggs`: every map merged across hosts (one histogram for the fleet). */
export const AggregationsView = z.object({
  deploymentId: z.string(),
  hosts: z.array(z.string()),
  maps: z.array(z.object({
    name: z.string(),
    kind: z.enum(['count', 'sum', 'min', 'max', 'avg', 'hist', 'lhist']),
    lhist: z.object({ lo: z.number(), hi: z.number(), step: z.number() }).optional(),
    entries: z.array(AggregationEntry),
  })),
});
export type AggregationsView = z.infer<typeof AggregationsView>;

/** `POST /v1/tokens` answer: the token is shown once. */
export const CreateTokenResponse = z.object({ name: z.string(), role: Role, token: z.string() });
export type CreateTokenResponse = z.infer<typeof CreateTokenResponse>;

/** End-to-end loss accounting for one (host, boot) of a deployment: every stage's count. */
export const LossRow = z.object({
  host: z.string(),
  bootId: z.string(),
  state: z.string(),
  lastReportMs: z.number(),
  producedByKernel: z.number(),
  ringBufferDrops: z.number(),
  received: z.number(),
  malformed: z.number(),
  spooled: z.number(),
  spoolDrops: z.number(),
  published: z.number(),
  stored: z.number(),
  /** Rows stored twice and not yet merged away by ReplacingMergeTree (queries use distinct sequences). */
  duplicates: z.number(),
  /** Produced by the kernel but neither dropped nor received by the agent (in the pipe, or lost to a crash). */
  unaccountedInAgent: z.number(),
  /** Published but not (yet) stored: in the stream, being ingested, or dead-lettered. */
  notYetStored: z.number(),
  /** Sequence numbers missing between the lowest and highest stored. */
  sequenceGaps: z.number(),
  /** Of `published`: in flight when an agent died (stored or lost; see the agent outage). */
  publishedUnacked: z.number().default(0),
  /** Runner and agent outages: nothing traced from .. to. `text` is the reason as the CLI prints it. */
  outages: z.array(Outage.extend({ text: z.string() })).default([]),
  /** Missing sequences lying inside an outage (events the dead agent held or had in flight). */
  gapsInOutages: z.number().default(0),
  /** Missing sequences neither inside an outage nor counted as spool drops: a defect to look into. */
  gapsUnexplained: z.number().default(0),
});
export type LossRow = z.infer<typeof LossRow>;

export const LossReport = z.object({ deploymentId: z.string(), rows: z.array(LossRow) });
export type LossReport = z.infer<typeof LossReport>;
