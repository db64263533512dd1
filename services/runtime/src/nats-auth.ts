import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyPair } from '@nats-io/nkeys';
import { natsJwt, natsKeys } from './client-modules.js';
import type { TapfleetConfig } from '@tapfleet/schemas';
import { agentPermissions, SERVICE_IDENTITIES, servicePermissions, type ServiceIdentity, type SubjectPermissions } from './nats-permissions.js';

/**
 * NATS decentralized auth for the fleet: an operator, a system account and one `tapfleet`
 * account whose users are minted by an account signing key. The server is given only the
 * operator and the two account JWTs (a memory resolver); every user JWT carries its own
 * subject permissions, so enrolling an agent needs no server reload. Seeds are 0600 files.
 */
export const natsAuthDir = (config: TapfleetConfig): string => config.nats.authDir ?? join(config.dataDir, 'nats-auth');
export const serviceCredsPath = (config: TapfleetConfig, identity: ServiceIdentity): string => join(natsAuthDir(config), `${identity}.creds`);

const FILES = {
  operatorSeed: 'operator.nk',
  systemSeed: 'system-account.nk',
  accountSeed: 'account.nk',
  signingSeed: 'account-signing.nk',
  serverConfig: 'server-auth.conf',
} as const;

const enc = new TextEncoder();
const dec = new TextDecoder();

function writeSecret(path: string, data: string | Uint8Array): void {
  writeFileSync(path, data, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function loadOrCreateSeed(dir: string, file: string, create: () => KeyPair): KeyPair {
  const path = join(dir, file);
  if (existsSync(path)) return natsKeys().fromSeed(enc.encode(readFileSync(path, 'utf8').trim()));
  const kp = create();
  writeSecret(path, dec.decode(kp.getSeed()));
  return kp;
}

/** Limits of the tapfleet account: unlimited (the operator's server sets the real bounds), JetStream on. */
const ACCOUNT_LIMITS = {
  subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1,
  mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1,
};

export interface AccountSigner {
  accountPublicKey: string;
  signer: KeyPair;
}

/** The account signing key the control plane issues agent credentials with (absent: it cannot enroll agents). */
export function loadAccountSigner(config: TapfleetConfig): AccountSigner | undefined {
  const dir = natsAuthDir(config);
  const account = join(dir, FILES.accountSeed);
  const signing = join(dir, FILES.signingSeed);
  if (!existsSync(account) || !existsSync(signing)) return undefined;
  return {
    accountPublicKey: natsKeys().fromSeed(enc.encode(readFileSync(account, 'utf8').trim())).getPublicKey(),
    signer: natsKeys().fromSeed(enc.encode(readFileSync(signing, 'utf8').trim())),
  };
}

/** A user JWT for `userPublicKey` with these permissions, signed by the account signing key. */
export async function issueUserJwt(a: AccountSigner, name: string, userPublicKey: string, perms: SubjectPermissions): Promise<string> {
  return natsJwt().encodeUser(name, natsKeys().fromPublic(userPublicKey), a.signer, {
    issuer_account: a.accountPublicKey,
    subs: -1, data: -1, payload: -1,
    pub: perms.pub,
    sub: perms.sub,
  }, { algorithm: natsJwt().Algorithms.v2 });
}

/** A `.creds` file body (JWT + seed) for a key pair the caller holds. */
export const formatCreds = (jwt: string, kp: KeyPair): Uint8Array => natsJwt().fmtCreds(jwt, kp);

/** Issues an agent's JWT: its host's subjects only (see agentPermissions). */
export const issueAgentJwt = (a: AccountSigner, hostId: string, userPublicKey: string): Promise<string> =>
  issueUserJwt(a, `agent-${hostId}`, userPublicKey, agentPermissions(hostId));

/** A fresh user key pair (agents make their own; the seed never leaves the host). */
export const newUserKeyPair = (): KeyPair => natsKeys().createUser();
export const userKeyPairFromSeed = (seed: string): KeyPair => natsKeys().fromSeed(enc.encode(seed.trim()));

/**
 * Creates (once) the operator, accounts and signing key under the auth dir, (re)writes the
 * service credentials, and returns the server configuration block that trusts them.
 * Idempotent: a restarted stack keeps its keys, so issued agent credentials stay valid.
 */
export async function ensureNatsAuth(config: TapfleetConfig): Promise<{ serverConfig: string; dir: string }> {
  const dir = natsAuthDir(config);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const operator = loadOrCreateSeed(dir, FILES.operatorSeed, () => natsKeys().createOperator());
  const system = loadOrCreateSeed(dir, FILES.systemSeed, () => natsKeys().createAccount());
  const account = loadOrCreateSeed(dir, FILES.accountSeed, () => natsKeys().createAccount());
  const signing = loadOrCreateSeed(dir, FILES.signingSeed, () => natsKeys().createAccount());
  const opts = { signer: operator, algorithm: natsJwt().Algorithms.v2 };
  const operatorJwt = await natsJwt().encodeOperator('tapfleet', operator, { system_account: system.getPublicKey() }, { algorithm: natsJwt().Algorithms.v2 });
  const systemJwt = await natsJwt().encodeAccount('SYS', system, {}, opts);
  const accountJwt = await natsJwt().encodeAccount('TAPFLEET', account, { limits: ACCOUNT_LIMITS, signing_keys: [signing.getPublicKey()] }, opts);
  const signer: AccountSigner = { accountPublicKey: account.getPublicKey(), signer: signing };
  for (const identity of SERVICE_IDENTITIES) {
    const user = natsKeys().createUser();
    const jwt = await issueUserJwt(signer, identity, user.getPublicKey(), servicePermissions(identity));
    writeSecret(serviceCredsPath(config, identity), formatCreds(jwt, user));
  }
  const serverConfig = [
    `operator: "${operatorJwt}"`,
    `system_account: ${system.getPublicKey()}`,
    'resolver: MEMORY',
    'resolver_preload: {',
    `  ${account.getPublicKey()}: "${accountJwt}"`,
    `  ${system.getPublicKey()}: "${systemJwt}"`,
    '}',
    '',
  ].join('\n');
  writeSecret(join(dir, FILES.serverConfig), serverConfig);
  return { serverConfig, dir };
}
