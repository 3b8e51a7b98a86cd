// deb: a package from a .deb at a URL, installed with apt-get so its dependencies come too.
// Downloaded on the host to a temp folder (outside the apt lock, so parallel phases download
// at the same time), checked against sha256 when one is given, and its control file checked
// to hold the package named (or the step could never become ok).
import * as z from '../zod.js';
import { sh, raw, join } from '../shell/sh.js';
import { aptGetCommand } from './apt.js';
import { curlDownload } from './download.js';
import { debPackageProbe, parseDebPackage } from '../facts/deb-package.js';
import type { StepType } from './step-type.js';

const schema = z.strictObject({
  url: z.string().check(z.regex(/^https?:\/\/[^\s'"]+$/, 'an http(s) URL')),
  package: z.string().check(z.regex(/^[a-z0-9][a-z0-9+.-]+$/, 'a Debian package name')),
  // an empty value (an unset inventory variable) means: not checked
  sha256: z.optional(
    z.string().check(z.regex(/^([0-9a-fA-F]{64})?$/, 'a sha256 in hex (64 digits), or empty for no check')),
  ),
});
type Args = z.infer<typeof schema>;

const wantedSha = (a: Args) => (a.sha256 ? a.sha256.toLowerCase() : undefined);

function installScript(a: Args): string {
  const sha = wantedSha(a);
  const what = `deb ${a.package}`;
  return join(
    [
      sh`umask 022`,
      // readable by _apt, so apt does not fall back to an unsandboxed read (and say so)
      sh`d=$(mktemp -d) && chmod 0755 "$d" || exit 1`,
      sh`fail() { rm -rf -- "$d"; printf '%s: %s\\n' ${what} "$1" >&2; exit 1; }`,
      sh`${curlDownload(a.url, raw('"$d/package.deb"'), 1800)} || fail ${`cannot download ${a.url}`}`,
      ...(sha
        ? [
            sh`got=$(sha256sum < "$d/package.deb" | cut -c1-64); [ "$got" = ${sha} ] || fail ${`sha256 mismatch for ${a.url}: expected ${sha}, got `}"$got"`,
          ]
        : []),
      sh`p=$(dpkg-deb -f "$d/package.deb" Package 2>/dev/null) || fail ${`${a.url} is not a Debian package`}`,
      sh`[ "$p" = ${a.package} ] || fail "the .deb holds package $p, not "${a.package}`,
      sh`cd "$d" && ${raw(aptGetCommand(['install', '--', './package.deb']))} || fail 'apt-get install failed'`,
      sh`cd / && rm -rf -- "$d"`,
    ],
    '\n',
  ).text;
}

export const debStep: StepType<Args> = {
  id: 'deb',
  schema,
  fieldModes: {},
  probe: (a) => debPackageProbe(a.package),
  sources: (a) => [{ field: 'url', kind: 'deb', urls: [a.url] }],
  decide(a, probed) {
    const s = parseDebPackage(probed?.text ?? '', a.package);
    if (s.installed) return { status: 'ok', reason: `${a.package} ${s.version} installed` };
    const sha = wantedSha(a);
    return {
      status: 'change',
      reason: `${a.package} is not installed`,
      script: installScript(a),
      display: [
        sh`curl -fsSL ${a.url} -> a temp file`.text,
        sha ? `sha256 must be ${sha}` : 'sha256 not checked (none given)',
        `check the .deb holds package ${a.package}`,
        aptGetCommand(['install', '--', './package.deb']),
      ],
    };
  },
};
