// Secrets at rest: card data Ki/OPc (SPEC §10) are sealed with AES-256-GCM under a key from
// configuration (OPENBOSS_KI_KEY, 64 hex digits). Without one, an embedded installation keeps a
// generated key in its data directory (`ki.key`, mode 0600) and an in-memory database a per-process
// key. Sealed form: iv (12 bytes) | tag (16 bytes) | ciphertext.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SecretBox {
  /** Names the key (a digest prefix), stored beside each sealed value so keys can be rotated. */
  readonly keyId: string;
  seal(plain: Buffer): Buffer;
  open(sealed: Buffer): Buffer;
}

const KEY_HEX = /^[0-9a-fA-F]{64}$/;

// random IVs are drawn from a pool refilled from the CSPRNG (one call per 4,096 IVs, not per seal:
// a card data import seals a million Ki)
const IV_POOL = 12 * 4096;
let ivPool = Buffer.alloc(0);
let ivAt = IV_POOL;
function nextIv(): Buffer {
  if (ivAt >= ivPool.length) {
    ivPool = randomBytes(IV_POOL);
    ivAt = 0;
  }
  const iv = ivPool.subarray(ivAt, ivAt + 12);
  ivAt += 12;
  return iv;
}

export function secretBox(keyHex: string): SecretBox {
  if (!KEY_HEX.test(keyHex)) throw new Error('a secret key must be 64 hex digits (32 bytes)');
  const key = Buffer.from(keyHex, 'hex');
  const keyId = createHash('sha256').update(key).digest('hex').slice(0, 12);
  // one KeyObject: importing the raw key on every call costs 3× the sealing itself (card data imports seal millions)
  const keyObject = createSecretKey(key);
  return {
    keyId,
    seal(plain) {
      const iv = nextIv();
      const c = createCipheriv('aes-256-gcm', keyObject, iv);
      const body = c.update(plain);
      const last = c.final();
      const out = Buffer.allocUnsafe(28 + body.length + last.length);
      iv.copy(out, 0);
      c.getAuthTag().copy(out, 12);
      body.copy(out, 28);
      last.copy(out, 28 + body.length);
      return out;
    },
    open(sealed) {
      if (sealed.length < 28) throw new Error('sealed value too short');
      const d = createDecipheriv('aes-256-gcm', keyObject, sealed.subarray(0, 12));
      d.setAuthTag(sealed.subarray(12, 28));
      return Buffer.concat([d.update(sealed.subarray(28)), d.final()]);
    },
  };
}

/** The card-data key: configured, else kept in the data directory, else (in-memory database) per process. */
export function kiSecretBox(opts: { kiKey: string | undefined; dataDir: string }): SecretBox {
  if (opts.kiKey) return secretBox(opts.kiKey);
  if (opts.dataDir.startsWith('memory://')) return secretBox(randomBytes(32).toString('hex'));
  const file = join(opts.dataDir, 'ki.key');
  if (!existsSync(file)) {
    mkdirSync(opts.dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return secretBox(readFileSync(file, 'utf8').trim());
}
