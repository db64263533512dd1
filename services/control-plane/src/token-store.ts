import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { Role } from '@tapfleet/schemas';

const TokenRecord = z.object({ name: z.string(), role: Role, createdAtMs: z.number() });
export type TokenRecord = z.infer<typeof TokenRecord>;

const KEY = (digest: string) => `tf:token:${digest}`;
const digestOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** API bearer tokens in Redis; only their sha256 is stored, so a Redis dump leaks no token. */
export class TokenStore {
  constructor(private readonly redis: Redis) {}

  async create(name: string, role: Role): Promise<string> {
    const token = `tf_${randomBytes(24).toString('base64url')}`;
    await this.save(token, { name, role, createdAtMs: Date.now() });
    return token;
  }

  private async save(token: string, record: TokenRecord): Promise<void> {
    await this.redis.set(KEY(digestOf(token)), JSON.stringify(record));
  }

  async lookup(token: string): Promise<TokenRecord | undefined> {
    const raw = await this.redis.get(KEY(digestOf(token)));
    if (!raw) return undefined;
    const parsed = TokenRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
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
