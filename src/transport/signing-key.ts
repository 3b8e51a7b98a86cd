// One private key, parsed once, that signs each host's authentication without parsing
// again. ssh2's ParsedKey.sign hands OpenSSL the key's PEM text, which OpenSSL 3 decodes
// anew for every signature: ~0.6 ms of CPU per host for an ed25519 key, ten times the
// signature itself. The same signature from a KeyObject made once costs ~0.05 ms.
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import type { ParsedKey } from 'ssh2';
import { ssh2 } from './ssh2-library.js';

// the hash ssh2 signs with when it names none (keyParser.js): RSA's is chosen per server
// (rsa-sha2-256/512) and always named; these are fixed by the key type
const DEFAULT_HASH: Readonly<Record<string, string | null>> = {
  'ssh-ed25519': null,
  'ecdsa-sha2-nistp256': 'sha256',
  'ecdsa-sha2-nistp384': 'sha384',
  'ecdsa-sha2-nistp521': 'sha512',
  'ssh-rsa': 'sha1',
};

/**
 * The key as ssh2 parses it, its sign() made from a KeyObject; undefined when ssh2 cannot
 * parse it (the caller hands ssh2 the bytes, as before). Anything this cannot sign with
 * (a type it does not know, an OpenSSL refusal) goes to ssh2's own sign.
 */
export function signingKey(data: Buffer | string, passphrase?: string): ParsedKey | undefined {
  const parsed = ssh2().utils.parseKey(data, passphrase);
  if (parsed instanceof Error || Array.isArray(parsed)) return undefined;
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey(parsed.getPrivatePEM());
  } catch {
    return parsed;
  }
  const ssh2Sign = parsed.sign.bind(parsed);
  // an own property on ssh2's object: it stays a ParsedKey (ssh2 recognises it as one)
  // (like ssh2's, it returns an Error rather than throwing one)
  parsed.sign = (payload: Buffer | string, algo?: string): Buffer => {
    const hash = algo || DEFAULT_HASH[parsed.type];
    if (hash === undefined) return ssh2Sign(payload, algo);
    try {
      return sign(hash, typeof payload === 'string' ? Buffer.from(payload) : payload, keyObject);
    } catch (err) {
      return err as Buffer;
    }
  };
  return parsed;
}
