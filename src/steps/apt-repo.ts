// apt_repo: a signed apt repository: its key in /etc/apt/keyrings/<name>.gpg (downloaded on
// the host; ASCII-armoured keys are dearmoured, binary ones kept) and
// /etc/apt/sources.list.d/<name>.list pointing at it with signed-by, then an apt-get update
// of that source alone. A source whose update fails is taken out again, so a re-run retries
// instead of finding a broken source "in place".
import * as z from '../zod.js';
import { sh, raw, join, type ShellText } from '../shell/sh.js';
import { aptGetCommand } from './apt.js';
import { curlDownload } from './download.js';
import {
  aptRepoStateProbe,
  parseAptRepoState,
  keyringPath,
  sourceListPath,
  KEYRING_DIR,
  SOURCES_DIR,
} from '../facts/apt-repo-state.js';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  name: z
    .string()
    .check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a short file name: lowercase letters, digits, ".", "_" or "-"')),
  key_url: z.string().check(z.regex(/^https?:\/\/[^\s'"]+$/, 'an http(s) URL')),
  // "<uri> <suite> [<component>...]", as after the options of a one-line "deb" entry
  // the OpenPGP fingerprint the key must have (40 hex digits, spaces allowed): checked on the host with gpg
  key_fingerprint: z.optional(
    z.pipe(
      z.pipe(
        z.string(),
        z.transform((f: string) => f.replace(/\s+/g, '').toUpperCase()),
      ),
      z.string().check(z.regex(/^([0-9A-F]{40})?$/, 'an OpenPGP fingerprint: 40 hex digits')),
    ),
  ),
  repo: z
    .string()
    .check(
      z.regex(
        /^(https?|file):\/\/[^\s[\]]+( [A-Za-z0-9._/+-]+)+$/,
        'a repository line without "deb" and options, e.g. "https://packages.microsoft.com/repos/code stable main"',
      ),
    ),
});
type Args = z.infer<typeof schema>;

/** The source list as written; the key URL is in it so a changed URL fetches the key again. */
export function sourceListText(a: Args): string {
  return (
    `# written by vps-provision (apt_repo ${a.name}); key from ${a.key_url}${a.key_fingerprint ? ` (fingerprint ${a.key_fingerprint})` : ''}\n` +
    `deb [signed-by=${keyringPath(a.name)}] ${a.repo}\n`
  );
}

/** apt-get update of this one source, failing on any error (a bad signature, a 404). */
export function sourceUpdateCommand(name: string): string {
  return aptGetCommand([
    'update',
    '-o',
    `Dir::Etc::sourcelist=sources.list.d/${name}.list`,
    '-o',
    'Dir::Etc::sourceparts=-',
    '-o',
    'APT::Get::List-Cleanup=0',
    '-o',
    'APT::Update::Error-Mode=any',
  ]);
}

/**
 * Shell text that fails unless the keyring file holds exactly one primary key, with that
 * fingerprint (a second key would be trusted to sign the repository as well).
 */
export function keyFingerprintCheck(key: string | ShellText, fingerprint: string, home: string | ShellText): ShellText {
  return join(
    [
      sh`f=$(gpg --batch --quiet --homedir ${home} --with-colons --import-options show-only --import < ${key} 2>/dev/null | `,
      sh`awk -F: '$1 == "pub" { p = 1; next } $1 == "fpr" && p { print $10; p = 0 } $1 == "sub" { p = 0 }')\n`,
      sh`[ "$f" = ${fingerprint} ] || fail "the key's fingerprint is $(printf '%s' "$f" | tr '\\n' ' '), not "${fingerprint}`,
    ],
    '',
  );
}

/**
 * The files apt fetches first from a repository line: <uri>/dists/<suite>/InRelease, else
 * Release; a flat repository (suite ending in "/") has them at <uri>/<suite>. None for file:.
 */
export function releaseUrls(repo: string): string[] {
  const [uri = '', suite = ''] = repo.split(' ');
  if (!/^https?:\/\//.test(uri)) return [];
  const base = uri.replace(/\/+$/, '');
  const dir = suite.endsWith('/') ? `${base}/${suite.replace(/^\.\/$/, '')}` : `${base}/dists/${suite}/`;
  return [`${dir}InRelease`, `${dir}Release`];
}

/** A key fetched over plain http can be swapped on the way: say so, unless its fingerprint is pinned. */
function aptRepoWarning(a: { key_url: string; key_fingerprint?: string }): string | undefined {
  if (a.key_url.startsWith('http://') && !a.key_fingerprint) {
    return `apt_repo key ${a.key_url} is fetched over plain http without key_fingerprint: anyone on the path can replace it; use https or pin key_fingerprint`;
  }
  return undefined;
}

function installScript(a: Args): string {
  const k = keyringPath(a.name);
  const l = sourceListPath(a.name);
  const what = `apt_repo ${a.name}`;
  return join(
    [
      // the remote shell runs with umask 077; apt reads keyrings and lists as user _apt
      sh`umask 022`,
      sh`install -d -m 0755 ${KEYRING_DIR} ${SOURCES_DIR}`,
      sh`d=$(mktemp -d) || exit 1`,
      sh`fail() { rm -rf -- "$d"; printf '%s: %s\\n' ${what} "$1" >&2; exit 1; }`,
      sh`${curlDownload(a.key_url, raw('"$d/key"'), 300)} || fail ${`cannot download the key from ${a.key_url}`}`,
      // armoured or binary: decided by content, not by the URL's extension (Google serves armour as .gpg)
      sh`if grep -q -e '-----BEGIN PGP PUBLIC KEY BLOCK-----' "$d/key"; then`,
      sh`  gpg --batch --quiet --homedir "$d" --dearmor < "$d/key" > "$d/key.gpg" || fail 'gpg --dearmor failed on the ASCII-armoured key'`,
      sh`else`,
      // a binary OpenPGP packet starts with a byte whose high bit is set (an HTML error page does not)
      sh`  b=$(od -An -N1 -tu1 "$d/key" | tr -d ' '); [ "\${b:-0}" -ge 128 ] || fail ${`${a.key_url} is not an OpenPGP key (neither ASCII-armoured nor binary)`}`,
      sh`  cp "$d/key" "$d/key.gpg"`,
      sh`fi`,
      ...(a.key_fingerprint ? [keyFingerprintCheck(raw('"$d/key.gpg"'), a.key_fingerprint, raw('"$d"'))] : []),
      sh`t=$(mktemp ${raw(KEYRING_DIR)}/.vpsp.XXXXXX) && cat "$d/key.gpg" > "$t" && chmod 0644 "$t" && mv -f "$t" ${k} || { rm -f "$t"; fail 'cannot write the keyring'; }`,
      sh`if [ -f ${l} ]; then cp -p ${l} "$d/old.list"; fi`,
      sh`t=$(mktemp ${raw(SOURCES_DIR)}/.vpsp.XXXXXX) && printf '%s' ${sourceListText(a)} > "$t" && chmod 0644 "$t" && mv -f "$t" ${l} || { rm -f "$t"; fail 'cannot write the source list'; }`,
      sh`if ! ${raw(sourceUpdateCommand(a.name))}; then`,
      sh`  if [ -f "$d/old.list" ]; then mv -f "$d/old.list" ${l}; else rm -f ${l}; fi`,
      sh`  fail ${`apt-get update of ${a.repo} failed (see above); the source list was taken out again`}`,
      sh`fi`,
      sh`rm -rf -- "$d"`,
    ],
    '\n',
  ).text;
}

export const aptRepoStep: StepType<Args> = {
  id: 'apt_repo',
  schema,
  fieldModes: { name: 'path' },
  probe: (a) => aptRepoStateProbe(a.name),
  warning: aptRepoWarning,
  sources(a) {
    const release = releaseUrls(a.repo);
    return [
      { field: 'key_url', kind: 'key', urls: [a.key_url] },
      ...(release.length ? [{ field: 'repo', kind: 'repository' as const, urls: release }] : []),
    ];
  },
  decide(a, probed) {
    const s = parseAptRepoState(probed?.text ?? '');
    const why: string[] = [];
    if (!s.keyringSha256) why.push(`${keyringPath(a.name)} is absent`);
    // apt verifies as user _apt: a keyring it cannot read is as good as none
    else if (!/[4-7]$/.test(s.keyringMode ?? ''))
      why.push(`${keyringPath(a.name)} is not readable by apt (mode ${s.keyringMode})`);
    if (s.list === undefined) why.push(`${sourceListPath(a.name)} is absent`);
    else if (s.list !== sourceListText(a).replace(/\n+$/, '')) why.push(`${sourceListPath(a.name)} differs`);
    if (!why.length) {
      return {
        status: 'ok',
        reason: `key ${keyringPath(a.name)} (sha256 ${s.keyringSha256!.slice(0, 12)}) and ${sourceListPath(a.name)} in place`,
      };
    }
    return {
      status: 'change',
      reason: why.join(', '),
      script: installScript(a),
      display: [
        `curl -fsSL ${sh`${a.key_url}`.text} -> ${keyringPath(a.name)} (gpg --dearmor when ASCII-armoured), mode 0644`,
        `write ${sourceListPath(a.name)}: deb [signed-by=${keyringPath(a.name)}] ${a.repo}`,
        `${sourceUpdateCommand(a.name)} (the source is removed again when it fails)`,
      ],
    };
  },
};
