import { z } from 'zod/v3';
import { Selector } from './deployment.js';
import { ScriptParams } from './common.js';
import { AggregationEntry, Outage } from './agent.js';
import { StackKey } from './bundle-manifest.js';
import { DeploymentTtl } from './duration.js';

/** Selectors name a few labels; a cap keeps a request from making every inventory match quadratic. */
export const MAX_SELECTOR_LABELS = 32;

export const CreateDeploymentRequest = z.object({
  scriptName: z.string().min(1).max(256),
  script: z.string().min(1).max(1_000_000),
  selector: Selector.refine((s) => Object.keys(s).length <= MAX_SELECTOR_LABELS, { message: `a selector has at most ${MAX_SELECTOR_LABELS} labels` }),
  ttl: DeploymentTtl.default('10m'),
  canary: z.boolean().default(false),
  /** The script's positional parameters, `$1`.. and `$#`: compiled in as constants, part of the deployment and of its bundles' cache key. */
  params: ScriptParams.default([]),
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

/** viewer reads, operator deploys and stops, admin manages tokens; agent may only enroll a host. */
export const Role = z.enum(['viewer', 'operator', 'admin', 'agent']);
export type Role = z.infer<typeof Role>;

/** Token names show in logs and messages: printable ASCII, no control characters. */
export const CreateTokenRequest = z.object({ name: z.string().min(1).max(64).regex(/^[\x20-\x7e]+$/, 'expected printable ASCII'), role: Role });
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** `GET /v1/deployments/:id/aggs`: every map merged across hosts (one histogram for the fleet). */
export const AggregationsView = z.object({
  deploymentId: z.string(),
  hosts: z.array(z.string()),
  maps: z.array(z.object({
    name: z.string(),
    kind: z.enum(['count', 'sum', 'min', 'max', 'avg', 'stats', 'hist', 'lhist', 'value']),
    lhist: z.object({ lo: z.number().finite(), hi: z.number().finite(), step: z.number().finite() }).optional(),
    /** Key positions holding a symbolised stack (frames joined by newlines, leaf first). */
    stackKeys: z.array(StackKey).optional(),
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
  lastReportMs: z.number().finite(),
  producedByKernel: z.number().finite(),
  ringBufferDrops: z.number().finite(),
  received: z.number().finite(),
  malformed: z.number().finite(),
  spooled: z.number().finite(),
  spoolDrops: z.number().finite(),
  published: z.number().finite(),
  stored: z.number().finite(),
  /** Rows stored twice and not yet merged away by ReplacingMergeTree (queries use distinct sequences). */
  duplicates: z.number().finite(),
  /** Produced by the kernel but neither dropped nor received by the agent (in the pipe, or lost to a crash). */
  unaccountedInAgent: z.number().finite(),
  /** Published but not (yet) stored: in the stream, being ingested, or dead-lettered. */
  notYetStored: z.number().finite(),
  /** Sequence numbers missing between the lowest and highest stored. */
  sequenceGaps: z.number().finite(),
  /** Of `published`: in flight when an agent died (stored or lost; see the agent outage). */
  publishedUnacked: z.number().finite().default(0),
  /** Runner and agent outages: nothing traced from .. to. `text` is the reason as the CLI prints it. */
  outages: z.array(Outage.extend({ text: z.string() })).default([]),
  /** Missing sequences lying inside an outage (events the dead agent held or had in flight). */
  gapsInOutages: z.number().finite().default(0),
  /** Missing sequences neither inside an outage nor counted as spool drops: a defect to look into. */
  gapsUnexplained: z.number().finite().default(0),
});
export type LossRow = z.infer<typeof LossRow>;

export const LossReport = z.object({ deploymentId: z.string(), rows: z.array(LossRow) });
export type LossReport = z.infer<typeof LossReport>;
