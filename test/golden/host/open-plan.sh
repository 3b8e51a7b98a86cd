N=0123456789ab; S='/var/lib/vps-provision/it'\''s'; L="$S/lock"
[ ! -L "$S" ] || { printf '\036%s ERR state dir %s is a symbolic link\n' "$N" "$S"; exit 0; }
:
if [ -d "$S" ]; then SO=$(stat -c %u -- "$S") && SM=$(stat -c %a -- "$S") || { printf '\036%s ERR cannot inspect %s\n' "$N" "$S"; exit 0; }
  [ "$SO" = "$(id -u)" ] || { printf '\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\n' "$N" "$S" "$SO" "$(id -un)" "$(id -u)"; exit 0; }
  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\036%s ERR state dir %s may be written by group or others (mode %s)\n' "$N" "$S" "$SM"; exit 0; }; fi
:
B=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)
printf '\036%s OS %s|%s\n' "$N" "$(id -un)" "$( ( . /etc/os-release 2>/dev/null; printf '%s|%s|%s|%s|%s' "${ID:-}" "${VERSION_ID:-}" "${VERSION_CODENAME:-}" "$(uname -m 2>/dev/null)" "${PRETTY_NAME:-}" ) )"
d="$S"; i=0; while [ ! -d "$d" ] && [ $i -lt 64 ]; do case "$d" in */*) d=${d%/*}; d=${d:-/};; *) d=.;; esac; i=$((i+1)); done
df -Pk "$d" 2>/dev/null | awk -v n="$N" 'NR==2{printf "\036%s DF %s\n", n, $4}'
for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\036%s CK %s %s\n' "$N" "${f##*/}" "$c"; done
printf '\036%s END\n' "$N"
