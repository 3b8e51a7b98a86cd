N=0123456789ab; T=${0%/*}; read u _ </proc/uptime; P0=${u%.*}${u#*.}; printf '\036%s U %s\n' "$N" "$P0"
printf '\036%s PID %s\n' "$N" "$$"; PL=600
lim() { read u _ </proc/uptime; u=${u%.*}${u#*.}; LIM=$1; TW="$1 step"; if [ "$PL" -gt 0 ]; then r=$(( (PL*100 - (u - P0) + 99) / 100 )); if [ "$LIM" -eq 0 ] || [ "$r" -lt "$LIM" ]; then LIM=$r; TW="$PL phase"; fi; fi; [ "$LIM" -eq 0 ] || [ "$LIM" -ge 1 ] || LIM=1; }
pp() { lim $2; d=0; [ "$LIM" -eq 0 ] || d=$((u + LIM*100)); echo "$1 $d $TW" > "$T/pp"; }
pn() { echo '- 0' > "$T/pp"; }
pn
( trap 'kill "$S" 2>/dev/null; exit 0' TERM; while :; do sleep 1 </dev/null >/dev/null 2>&1 & S=$!; wait "$S"; kill -0 $$ 2>/dev/null && [ -e "$T/pp" ] || exit 0; read i d n tw < "$T/pp" || continue; [ "${d:-0}" -gt 0 ] || continue; read u _ </proc/uptime; [ "${u%.*}${u#*.}" -lt "$d" ] || break; done; printf '\036%s PTO %s %s %s\n' "$N" "$i" "$n" "$tw"; kill -KILL -$$ ) </dev/null 2>/dev/null & PW=$!
trap 'kill -TERM "$PW" 2>/dev/null' EXIT
pp 3 0; o=$( { if ( test -f /srv/golden/never
) </dev/null >/dev/null 2>&1; then echo unless=0; else echo unless=1; fi
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 3 "$?" "$o" "$N" 3
pp 5 0; o=$( { dpkg-query -W '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n' -- curl xrdp 2>/dev/null; true
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 5 "$?" "$o" "$N" 5
pp 6 0; o=$( { e=$(getent passwd dev 2>/dev/null) || { echo absent; exit 0; }; printf 'passwd=%s\n' "$e"; printf 'groups=%s\n' "$(id -nG dev)"; h=$(printf %s "$e" | cut -d: -f6); [ -f "$h/.ssh/authorized_keys" ] && printf 'keys=%s\n' "$(sha256sum < "$h/.ssh/authorized_keys" | cut -c1-64)"; [ -f /etc/sudoers.d/90-vps-provision-dev ] && printf 'sudo=%s\n' "$(sha256sum < /etc/sudoers.d/90-vps-provision-dev | cut -c1-64)"; printf 'pw=%s\n' "$(passwd -S dev 2>/dev/null | cut -d' ' -f2)"; true
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 6 "$?" "$o" "$N" 6
[ ! -e /var/lib/vps-provision/pending-restarts/0702d45540f04efb ] || printf '\036%s H %s\n' "$N" 7
pp 7 0; o=$( { if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled -- xrdp 2>/dev/null || true; echo; systemctl is-active -- xrdp 2>/dev/null || true; else echo no-systemd; fi
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 7 "$?" "$o" "$N" 7
pp 8 0; o=$( { if [ -s /etc/apt/keyrings/vendor.gpg ]; then printf 'key=%s %s\n' "$(sha256sum < /etc/apt/keyrings/vendor.gpg | cut -c1-64)" "$(stat -c %a /etc/apt/keyrings/vendor.gpg)"; else echo key=absent; fi; if [ -f /etc/apt/sources.list.d/vendor.list ]; then echo list=present; cat /etc/apt/sources.list.d/vendor.list; else echo list=absent; fi
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 8 "$?" "$o" "$N" 8
pp 9 0; o=$( { dpkg-query -W '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n' -- vendor-tool 2>/dev/null; true
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 9 "$?" "$o" "$N" 9
pp 2 30
printf '\036%s B %s 0\n' "$N" 2; { if [ -e /srv/golden/made ]; then echo creates=yes; else echo creates=no; fi
} 2>/dev/null; printf '\n\036%s E %s\n' "$N" 2
pp 0 0
set --; I=
if [ -e /srv/golden/a.conf ] || [ -L /srv/golden/a.conf ]; then set -- "$@" /srv/golden/a.conf; I="$I 0"; else printf '\036%s B %s 0\n%s\n\036%s E %s\n' "$N" 0 absent "$N" 0; fi
if [ $# -gt 0 ]; then o=$(stat -c 'exists|%F|%a|%U|%G' -- "$@" 2>/dev/null) || o=$( { for p; do stat -c 'exists|%F|%a|%U|%G' -- "$p" || echo absent; done; } 2>/dev/null ); printf '\036%s G stat%s\n%s\n\036%s GE\n' "$N" "$I" "$o" "$N"; fi
set --; I=
if [ -f /srv/golden/a.conf ]; then set -- "$@" /srv/golden/a.conf; I="$I 0"; fi
if [ $# -gt 0 ]; then o=$(sha256sum -- "$@" 2>/dev/null) || o=$( { for p; do sha256sum < "$p" || echo -; done; } 2>/dev/null ); printf '\036%s G sha%s\n%s\n\036%s GE\n' "$N" "$I" "$o" "$N"; fi
pp 1 0
set --; K=
if [ -f /srv/golden/b.conf ]; then set -- "$@" k=1 /srv/golden/b.conf; K="$K 1"; else printf '\036%s B %s 0\n%s\n\036%s E %s\n' "$N" 1 missing "$N" 1; fi
if [ $# -gt 0 ]; then awk -v N="$N" -v K="$K" 'BEGIN{while ((getline x < "/dev/stdin") > 0) {n++; I[n]=x; if ((getline L[n] < "/dev/stdin") <= 0) L[n]=""; if ((getline R[n] < "/dev/stdin") <= 0) R[n]=""}} !P[k] && $0==L[k] {P[k]=FNR} R[k]!="" && !M[k] && $0 ~ R[k] {M[k]=FNR; T[k]=$0} END{c=split(K, Q, " "); for (j=1; j<=c; j++) {q=Q[j]; printf "\036%s B %s 0\npresent=%d match=%d\n%s\n\036%s E %s\n", N, I[q], P[q], M[q], T[q], N, I[q]}}' "$@" 2>/dev/null <<'VPSP_LINES_9bdf4dba183c'
1
y=2 % $HOME
^y=
VPSP_LINES_9bdf4dba183c
[ $? -eq 0 ] || {
[ ! -f /srv/golden/b.conf ] || o=$( { if [ -f /srv/golden/b.conf ]; then awk 'BEGIN{if ((getline l < "/dev/stdin") <= 0) l = ""; if ((getline r < "/dev/stdin") <= 0) r = ""} !p && $0==l {p=NR} r!="" && !m && $0 ~ r {m=NR; mt=$0} END{printf "present=%d match=%d\n%s", p, m, mt}' /srv/golden/b.conf <<'VPSP_LINE_3e798091edd9'
y=2 % $HOME
^y=
VPSP_LINE_3e798091edd9
else echo missing; fi
} 2>/dev/null ); printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" 1 "$?" "$o" "$N" 1
}
fi
