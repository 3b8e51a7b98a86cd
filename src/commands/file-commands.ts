// Builders of file-changing shell text. Every write goes to a temp file in the
// same folder and is renamed over the target, so an interrupted run never leaves
// a half-written file.
import { createHash, randomBytes } from 'node:crypto';
import { shQuote, shJoin } from './shell-quote.js';

export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface WriteOptions {
  mode?: string;
  owner?: string;
  group?: string;
  /** A command that must accept the temp file (its path is appended) before it replaces the target. */
  validate?: string[];
}

/** Shell text that writes `content` to `path` atomically; returns [script, display lines]. */
export function atomicWrite(path: string, content: string | Buffer, opts: WriteOptions = {}): { script: string; display: string[] } {
  const p = shQuote(path);
  const body = Buffer.from(content).toString('base64').replace(/.{1,76}/g, '$&\n');
  const marker = `VPSP_EOF_${randomBytes(6).toString('hex')}`;
  const owner = chownSpec(opts.owner, opts.group);
  // the here-document's body starts after the line holding `<<`, so the `&&`
  // chaining goes on that line and the next command follows the end marker
  const head = [`mkdir -p -- "$(dirname -- ${p})"`, `t=$(mktemp "$(dirname -- ${p})/.vpsp.XXXXXX")`, `base64 -d > "$t" <<'${marker}' &&\n${body}${marker}`];
  const lines = [
    // keep the mode and owner of an existing file unless told otherwise
    opts.mode ? `chmod ${shQuote(opts.mode)} "$t"` : `if [ -e ${p} ]; then chmod --reference=${p} "$t"; else chmod 0644 "$t"; fi`,
    owner ? `chown ${shQuote(owner)} "$t"` : `if [ -e ${p} ]; then chown --reference=${p} "$t"; fi`,
    ...(opts.validate ? [`${shJoin(opts.validate)} "$t" || { rm -f "$t"; echo 'validation failed: ${opts.validate.join(' ')}' >&2; exit 3; }`] : []),
    `mv -f "$t" ${p}`,
  ];
  const display = [
    `write ${Buffer.byteLength(content)} bytes (sha256 ${sha256(content).slice(0, 12)}) to ${p} via a temp file + rename`,
    ...(opts.mode ? [`chmod ${opts.mode} ${p}`] : []),
    ...(owner ? [`chown ${owner} ${p}`] : []),
    ...(opts.validate ? [`${shJoin(opts.validate)} <temp file> before replacing`] : []),
  ];
  return { script: `t=; { ${head.join(' &&\n')}\n${lines.join(' &&\n')}; } || { rc=$?; [ -n "$t" ] && rm -f "$t"; exit $rc; }`, display };
}

export function chownSpec(owner?: string, group?: string): string | undefined {
  if (owner && group) return `${owner}:${group}`;
  if (owner) return owner;
  if (group) return `:${group}`;
  return undefined;
}
