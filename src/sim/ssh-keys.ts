/**
 * Deterministic ed25519 SSH keys for the simulator: host keys and instance key pairs derived from a seed
 * (so a world with the same seed serves the same host keys), written in the OpenSSH formats that ssh2
 * and OpenSSH's `ssh` read.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import ssh2 from 'ssh2';

/** One ed25519 key pair: the OpenSSH private key text, the `ssh-ed25519 AAAA...` line and the raw public blob. */
export interface SimKeyPair {
  privateKey: string;
  publicKey: string;
  /** the SSH wire-format public key (`string "ssh-ed25519" || string pub`) */
  blob: Buffer;
  /** OpenSSH-style fingerprint: `SHA256:<base64 without padding>` */
  fingerprint: string;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** SHA256 fingerprint of a wire-format public key, as `ssh-keygen -l` prints it. */
export function keyFingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The 32-byte seed of a key derived from any label (e.g. `host|42|<id>|0`). */
export function keySeed(label: string): Buffer {
  return createHash('sha256').update(`xgc-sim-key|${label}`).digest();
}

/** Build an ed25519 key pair from a 32-byte seed (same seed, same key). */
export function ed25519FromSeed(seed: Buffer, comment = ''): SimKeyPair {
  if (seed.length !== 32) throw new Error('ed25519 seed must be 32 bytes');
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  const pub = spki.subarray(spki.length - 32);
  const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = seed.readUInt32BE(0);
  let section = Buffer.concat([
    u32(check),
    u32(check),
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])),
    sshString(comment),
  ]);
  const pad: number[] = [];
  for (let i = 1; (section.length + pad.length) % 8 !== 0; i++) pad.push(i);
  section = Buffer.concat([section, Buffer.from(pad)]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(blob),
    sshString(section),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`,
    blob,
    fingerprint: keyFingerprint(blob),
  };
}

/** A parsed public key, or an error message naming what is wrong. */
export function parsePublicKey(text: unknown): { blob: Buffer; type: string; fingerprint: string } | { error: string } {
  if (typeof text !== 'string' || text.trim() === '') return { error: 'public_key must be an OpenSSH public key line' };
  const parsed = ssh2.utils.parseKey(text.trim());
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return { error: 'public_key is not a readable OpenSSH public key' };
  if (key.isPrivateKey()) return { error: 'public_key must be a public key, not a private one' };
  const blob = key.getPublicSSH();
  return { blob, type: key.type, fingerprint: keyFingerprint(blob) };
}

const hostKeyCache = new Map<string, SimKeyPair>();

/** The host key of instance `id` at rotation `generation` in a world seeded with `seed` (stable across runs). */
export function hostKeyOf(seed: number, id: string, generation: number): SimKeyPair {
  const label = `host|${seed}|${id}|${generation}`;
  let k = hostKeyCache.get(label);
  if (!k) {
    k = ed25519FromSeed(keySeed(label), `root@${id}`);
    if (hostKeyCache.size > 20_000) hostKeyCache.clear();
    hostKeyCache.set(label, k);
  }
  return k;
}
