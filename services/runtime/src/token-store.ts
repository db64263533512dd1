import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod/v3';
import { EpochMs, Role } from '@tapfleet/schemas';
import { getStringRecord, readRecord, serializeChecked, type CorruptRecordSink } from './stored-record.js';

const TokenRecord = z.object({ name: z.string(), role: Role, createdAtMs: EpochMs });
export type TokenRecord = z.infer<typeof TokenRecord>;

const KEY = (digest: string) => `tf:token:${digest}`;
const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * API bearer tokens in Redis; only their sha256 is stored, so a Redis dump leaks no token.
 * An unreadable record authenticates nobody (401) and is reported; it never fails the request.
 */
export class TokenStore {
  constructor(private readonly redis: Redis, private readonly onCorrupt: CorruptRecordSink = () => undefined) {}

  async create(name: string, role: Role): Promise<string> {
    const token = `tf_${randomBytes(24).toString('base64url')}`;
    await this.save(token, { name, role, createdAtMs: Date.now() });
    return token;
  }

  private async save(token: string, record: TokenRecord): Promise<void> {
    await this.redis.set(KEY(digestOf(token)), serializeChecked(TokenRecord, `token ${record.name}`, record));
  }

  async lookup(token: string): Promise<TokenRecord | undefined> {
    const key = KEY(digestOf(token));
    const got = await getStringRecord(this.redis, key);
    if (!got.ok) {
      this.onCorrupt('tokens', key, got.reason);
      return undefined;
    }
    if (got.raw === null) return undefined;
    const r = readRecord(TokenRecord, got.raw);
    if (r.ok) return r.value;
    this.onCorrupt('tokens', key, r.reason);
    return undefined;
  }

  /**
   * The first admin token, written (mode 0600) where local CLIs find it. Re-registered
   * on every start, so a Redis that lost its data still accepts the file's token.
   */
  async bootstrapAdmin(file: string): Promise<string> {
    if (existsSync(file)) {
      const token = readFileSync(file, 'utf8').trim();
      if (!(await this.lookup(token))) await this.save(token, { name: 'bootstrap-admin', role: 'admin', createdAtMs: Date.now() });
      return token;
    }
    const token = await this.create('bootstrap-admin', 'admin');
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${token}\n`, { mode: 0o600 });
    return token;
  }
}

const RANK: Record<Exclude<Role, 'agent'>, number> = { viewer: 0, operator: 1, admin: 2 };

/**
 * viewer < operator < admin. An `agent` token (a join token) may only enroll a host, and
 * nothing else, not even read; an admin may also enroll (the local stack's agent does).
 */
export function roleAllows(have: Role, need: Role): boolean {
  if (need === 'agent') return have === 'agent' || have === 'admin';
  if (have === 'agent') return false;
  return RANK[have] >= RANK[need];
}
