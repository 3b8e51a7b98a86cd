N=0123456789ab; S='/var/lib/vps-provision/it'\''s'; L="$S/lock"
[ ! -L "$S" ] || { printf '\036%s ERR state dir %s is a symbolic link\n' "$N" "$S"; exit 0; }
:
if [ -d "$S" ]; then SOM=$(stat -c '%u %a' -- "$S") || { printf '\036%s ERR cannot inspect %s\n' "$N" "$S"; exit 0; }; SO=${SOM% *}; SM=${SOM#* }; U=; { while read -r k r e _; do [ "$k" = Uid: ] && { U=$e; break; }; done </proc/self/status; } 2>/dev/null; [ -n "$U" ] || U=$(id -u)
  [ "$SO" = "$U" ] || { printf '\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\n' "$N" "$S" "$SO" "$(id -un)" "$U"; exit 0; }
  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\036%s ERR state dir %s may be written by group or others (mode %s)\n' "$N" "$S" "$SM"; exit 0; }; fi
:
B=; { read -r B </proc/sys/kernel/random/boot_id; } 2>/dev/null
o_i=; o_v=; o_c=; o_p=; { while IFS== read -r k v; do case $v in \"*\") v=${v#\"}; v=${v%\"};; \'*\') v=${v#\'}; v=${v%\'};; esac; case $k in ID) o_i=$v;; VERSION_ID) o_v=$v;; VERSION_CODENAME) o_c=$v;; PRETTY_NAME) o_p=$v;; esac; done </etc/os-release; } 2>/dev/null; a=; { read -r a </proc/sys/kernel/arch; } 2>/dev/null || a=$(uname -m 2>/dev/null); OSR="$o_i|$o_v|$o_c|$a|$o_p"; printf '\036%s OS %s|%s\n' "$N" "${VPSP_USER:-$(id -un)}" "$OSR"
for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\036%s CK %s %s\n' "$N" "${f##*/}" "$c"; done
printf '\036%s END\n' "$N"
