// Builders of file-changing shell text. Every write goes to a temp file in the
// same folder and is renamed over the target, so an interrupted run never leaves
// a half-written file.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { sh, raw, join, heredocMarker } from './sh.js';

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
export function atomicWrite(
  path: string,
  content: string | Buffer,
  opts: WriteOptions = {},
): { script: string; display: string[] } {
  const body = Buffer.from(content)
    .toString('base64')
    .replace(/.{1,76}/g, '$&\n');
  // base64 has no "_": the marker can never be a line of the body
  const marker = raw(heredocMarker('VPSP_EOF', body));
  const owner = chownSpec(opts.owner, opts.group);
  // the here-document's body starts after the line holding `<<`, so the `&&`
  // chaining goes on that line and the next command follows the end marker
  // the folder is known here: no dirname process, and mkdir only when it is missing
  const dir = posix.dirname(path);
  const head = [
    sh`{ [ -d ${dir} ] || mkdir -p -- ${dir}; }`,
    sh`t=$(mktemp ${dir}/.vpsp.XXXXXX)`,
    sh`base64 -d > "$t" <<'${marker}' &&\n${raw(body)}${marker}`,
  ];
  const steps = [
    // keep the mode and owner of an existing file unless told otherwise
    opts.mode
      ? sh`chmod ${opts.mode} "$t"`
      : sh`if [ -e ${path} ]; then chmod --reference=${path} "$t"; else chmod 0644 "$t"; fi`,
    owner ? sh`chown ${owner} "$t"` : sh`if [ -e ${path} ]; then chown --reference=${path} "$t"; fi`,
    ...(opts.validate
      ? [
          sh`${opts.validate} "$t" || { rm -f "$t"; echo ${`validation failed: ${opts.validate.join(' ')}`} >&2; exit 3; }`,
        ]
      : []),
    sh`mv -f "$t" ${path}`,
  ];
  const p = sh`${path}`.text;
  const display = [
    `write ${Buffer.byteLength(content)} bytes (sha256 ${sha256(content).slice(0, 12)}) to ${p} via a temp file + rename`,
    ...(opts.mode ? [`chmod ${opts.mode} ${p}`] : []),
    ...(owner ? [`chown ${owner} ${p}`] : []),
    ...(opts.validate ? [`${sh`${opts.validate}`.text} <temp file> before replacing`] : []),
  ];
  return {
    script:
      sh`t=; { ${join(head, ' &&\n')}\n${join(steps, ' &&\n')}; } || { rc=$?; [ -n "$t" ] && rm -f "$t"; exit $rc; }`
        .text,
    display,
  };
}

export function chownSpec(owner?: string, group?: string): string | undefined {
  if (owner && group) return `${owner}:${group}`;
  if (owner) return owner;
  if (group) return `:${group}`;
  return undefined;
}
