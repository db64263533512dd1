import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { adminTokenPath, formatCreds, httpCall, newUserKeyPair, serviceTrust, userKeyPairFromSeed, type ClientTlsMaterial, type Logger } from '@tapfleet/runtime';
import { ApiError, EnrollResponse, type EnrollRequest, type TapfleetConfig } from '@tapfleet/schemas';

/** Where an enrolled agent keeps its NATS credentials (its seed and the JWT it was issued), mode 0600. */
export const agentCredsPath = (stateDir: string) => join(stateDir, 'nats.creds');

/** A refusal the agent cannot fix by waiting (bad token, host taken by another key): it stops with this. */
export class EnrollmentError extends Error {}

const SEED_LINE = /^(SU[A-Z2-7]{56})$/m;

function joinToken(config: TapfleetConfig): string | undefined {
  const explicit = config.agent.joinToken ?? config.controlPlane.token;
  if (explicit) return explicit;
  const file = adminTokenPath(config.dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/**
 * The credentials file this agent connects with: `nats.credsFile` when configured, else
 * the one it was issued at enrollment. Enrolls when there is none, or when `renew` is set
 * (the server refused the old JWT): the agent makes its own key pair, sends only the public
 * key with its join token, and keeps the seed (re-enrolling reuses it, so the control plane
 * sees the same key). Waits for the control plane while it is unreachable or starting.
 */
export async function agentCredentials(config: TapfleetConfig, hostId: string, stateDir: string, log: Logger, renew = false): Promise<string> {
  if (config.nats.credsFile) return config.nats.credsFile;
  const file = agentCredsPath(stateDir);
  if (existsSync(file) && !renew) return refreshed(config, hostId, file, log);
  const token = await waitForJoinToken(config, log);
  if (!token)
    throw new EnrollmentError(`no NATS credentials at ${file} and no join token to enroll with: create one with 'tapfleet token create NAME --role agent' and start the agent with TAPFLEET_JOIN_TOKEN (or agent.joinToken)`);
  const kp = keyPairOf(file) ?? newUserKeyPair();
  const body: EnrollRequest = { hostId, publicKey: kp.getPublicKey() };
  const jwt = await enroll(config.controlPlane.url.replace(/\/$/, ''), token, body, log, serviceTrust(config.controlPlane.caFile, 'control plane'));
  writeCreds(file, jwt, kp);
  log.info({ file, publicKey: body.publicKey }, 'enrolled: NATS credentials issued for this host');
  return file;
}

/** The key pair an earlier enrollment left in the credentials file, if any. */
function keyPairOf(file: string) {
  const seed = existsSync(file) ? SEED_LINE.exec(readFileSync(file, 'utf8'))?.[1] : undefined;
  return seed ? userKeyPairFromSeed(seed) : undefined;
}

function writeCreds(file: string, jwt: string, kp: ReturnType<typeof newUserKeyPair>): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, formatCreds(jwt, kp), { mode: 0o600 });
}

/**
 * Existing credentials, renewed when a join token is at hand: the JWT carries the permissions of
 * the release that issued it, and a newer agent may need newer ones (it would otherwise be
 * refused by the server on some subject). One attempt, same key; when the control plane does
 * not answer, the agent goes on with what it has.
 */
async function refreshed(config: TapfleetConfig, hostId: string, file: string, log: Logger): Promise<string> {
  const token = joinToken(config);
  const kp = keyPairOf(file);
  if (!token || !kp) return file;
  try {
    const jwt = await enroll(config.controlPlane.url.replace(/\/$/, ''), token, { hostId, publicKey: kp.getPublicKey() }, log, serviceTrust(config.controlPlane.caFile, 'control plane'), 1);
    writeCreds(file, jwt, kp);
    log.info({ file }, 'NATS credentials renewed with the current permissions');
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'could not renew the NATS credentials; using the ones issued before');
  }
  return file;
}

/**
 * The join token, waiting briefly for the local admin token file when none is configured: the
 * local stack starts the control plane (which writes that file) and the agent together.
 */
async function waitForJoinToken(config: TapfleetConfig, log: Logger, waitMs = 30_000): Promise<string | undefined> {
  const deadline = Date.now() + waitMs;
  for (let logged = false; ; logged = true) {
    const token = joinToken(config);
    if (token || Date.now() > deadline) return token;
    if (!logged) log.info({ file: adminTokenPath(config.dataDir) }, 'no join token configured; waiting for the local admin token file');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function enroll(baseUrl: string, token: string, body: EnrollRequest, log: Logger, tls: ClientTlsMaterial | undefined, maxAttempts = Infinity): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    let status = 0;
    let text = '';
    try {
      const res = await httpCall(`${baseUrl}/v1/agents/enroll`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        timeoutMs: 10_000,
        maxBytes: 1 << 20,
        ...(tls ? { tls } : {}),
      });
      status = res.status;
      text = res.text;
    } catch (e) {
      text = (e as Error).message;
    }
    if (status === 200) return EnrollResponse.parse(JSON.parse(text)).jwt;
    if (status >= 400 && status < 500) {
      const err = ApiError.safeParse(safeJson(text));
      throw new EnrollmentError(`enrollment refused by the control plane at ${baseUrl} (HTTP ${status}): ${err.success ? err.data.error.message : text.slice(0, 200)}`);
    }
    if (attempt + 1 >= maxAttempts) throw new Error(`the control plane at ${baseUrl} did not answer the enrollment (${status || text.slice(0, 200)})`);
    if (attempt === 0 || attempt % 10 === 0) log.warn({ url: baseUrl, status, err: text.slice(0, 200) }, 'waiting for the control plane to enroll this agent');
    await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
