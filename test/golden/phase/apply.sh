N=0123456789ab; T=${0%/*}; TF=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/timing.csv
printf '\036%s PID %s\n' "$N" "$$"
read U0 _ </proc/uptime; U0=${U0%.*}${U0#*.}; E0=$(date +%s%2N)
[ -s "$TF" ] || printf '%s\n' timestamp,run_id,host,phase,step,start_epoch_s,duration_s,status >> "$TF"
P0=$U0; PC=ok
p_0() {
if [ -e /srv/golden/a.conf ] || [ -L /srv/golden/a.conf ]; then stat -c 'exists|%F|%a|%U|%G' -- /srv/golden/a.conf; if [ -f /srv/golden/a.conf ]; then sha256sum < /srv/golden/a.conf | cut -c1-64; fi; else echo absent; fi
}
p_1() {
if [ -f /srv/golden/b.conf ]; then awk 'BEGIN{if ((getline l < "/dev/stdin") <= 0) l = ""; if ((getline r < "/dev/stdin") <= 0) r = ""} !p && $0==l {p=NR} r!="" && !m && $0 ~ r {m=NR; mt=$0} END{printf "present=%d match=%d\n%s", p, m, mt}' /srv/golden/b.conf <<'VPSP_LINE_3e798091edd9'
y=2 % $HOME
^y=
VPSP_LINE_3e798091edd9
else echo missing; fi
}
p_2() {
if [ -e /srv/golden/made ]; then echo creates=yes; else echo creates=no; fi
}
p_3() {
if ( test -f /srv/golden/never
) </dev/null >/dev/null 2>&1; then echo unless=0; else echo unless=1; fi
}
p_5() {
dpkg-query -W '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n' -- curl xrdp 2>/dev/null; true
}
p_6() {
e=$(getent passwd dev 2>/dev/null) || { echo absent; exit 0; }; printf 'passwd=%s\n' "$e"; printf 'groups=%s\n' "$(id -nG dev)"; h=$(printf %s "$e" | cut -d: -f6); [ -f "$h/.ssh/authorized_keys" ] && printf 'keys=%s\n' "$(sha256sum < "$h/.ssh/authorized_keys" | cut -c1-64)"; [ -f /etc/sudoers.d/90-vps-provision-dev ] && printf 'sudo=%s\n' "$(sha256sum < /etc/sudoers.d/90-vps-provision-dev | cut -c1-64)"; printf 'pw=%s\n' "$(passwd -S dev 2>/dev/null | cut -d' ' -f2)"; true
}
p_7() {
if command -v systemctl >/dev/null 2>&1; then systemctl is-enabled -- xrdp 2>/dev/null || true; echo; systemctl is-active -- xrdp 2>/dev/null || true; else echo no-systemd; fi
}
p_8() {
if [ -s /etc/apt/keyrings/vendor.gpg ]; then printf 'key=%s %s\n' "$(sha256sum < /etc/apt/keyrings/vendor.gpg | cut -c1-64)" "$(stat -c %a /etc/apt/keyrings/vendor.gpg)"; else echo key=absent; fi; if [ -f /etc/apt/sources.list.d/vendor.list ]; then echo list=present; cat /etc/apt/sources.list.d/vendor.list; else echo list=absent; fi
}
p_9() {
dpkg-query -W '-f=${Package}\t${db:Status-Abbrev}\t${Version}\n' -- vendor-tool 2>/dev/null; true
}
PL=600
lim() { read u _ </proc/uptime; u=${u%.*}${u#*.}; LIM=$1; TW="$1 step"; if [ "$PL" -gt 0 ]; then r=$(( (PL*100 - (u - P0) + 99) / 100 )); if [ "$LIM" -eq 0 ] || [ "$r" -lt "$LIM" ]; then LIM=$r; TW="$PL phase"; fi; fi; [ "$LIM" -eq 0 ] || [ "$LIM" -ge 1 ] || LIM=1; }
pp() { lim $2; d=0; [ "$LIM" -eq 0 ] || d=$((u + LIM*100)); echo "$1 $d $TW" > "$T/pp"; }
pn() { echo '- 0' > "$T/pp"; }
pn
( trap 'kill "$S" 2>/dev/null; exit 0' TERM; while :; do sleep 1 </dev/null >/dev/null 2>&1 & S=$!; wait "$S"; kill -0 $$ 2>/dev/null && [ -e "$T/pp" ] || exit 0; read i d n tw < "$T/pp" || continue; [ "${d:-0}" -gt 0 ] || continue; read u _ </proc/uptime; [ "${u%.*}${u#*.}" -lt "$d" ] || break; done; printf '\036%s PTO %s %s %s\n' "$N" "$i" "$n" "$tw"; kill -KILL -$$ ) </dev/null 2>/dev/null & PW=$!
trap 'kill -TERM "$PW" 2>/dev/null' EXIT
trap '[ -n "$SP" ] && kill -TERM -"$SP" 2>/dev/null; exit 143' TERM HUP INT
rmf() { for f; do [ ! -e "$f" ] && [ ! -L "$f" ] || rm -f -- "$f"; done; }
cap() { set -- $(wc -c < "$T/out" 2>/dev/null); [ "${1:-0}" -gt 1048576 ] || return 0; tail -c 65536 "$T/out" > "$T/out.k"; : > "$T/out"; }
runstep() {
  rmf "$T/to"; TO=
  setsid sh "$T/a" </dev/null >>"$T/out" 2>&1 & SP=$!
  ( trap 'exit 0' TERM; i=0
    while kill -0 "$SP" 2>/dev/null && { [ "$LIM" -eq 0 ] || [ $i -lt "$LIM" ]; }; do sleep 1 </dev/null >/dev/null 2>&1 & wait $!; i=$((i+1)); cap; done
    kill -0 "$SP" 2>/dev/null || exit 0
    : > "$T/to"; kill -TERM -"$SP" 2>/dev/null; i=0
    while kill -0 -"$SP" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
    kill -KILL -"$SP" 2>/dev/null ) </dev/null >/dev/null 2>&1 & W=$!
  wait "$SP"; r=$?; kill "$W" 2>/dev/null; wait "$W" 2>/dev/null; SP=
  if [ -e "$T/to" ]; then TO="timeout $TW"; [ $r -ne 0 ] || r=124; fi
  return $r
}
iso() { i_s=$(($1/100)); i_c=$(($1%100)); i_z=$((i_s/86400+719468)); i_t=$((i_s%86400)); i_e=$((i_z/146097)); i_d=$((i_z-i_e*146097)); i_y=$(((i_d-i_d/1460+i_d/36524-i_d/146096)/365)); i_o=$((i_d-(365*i_y+i_y/4-i_y/100))); i_p=$(((5*i_o+2)/153)); i_dd=$((i_o-(153*i_p+2)/5+1)); i_m=$((i_p<10 ? i_p+3 : i_p-9)); i_y=$((i_y+i_e*400+(i_m<=2))); i_h=$((i_t/3600)); i_mi=$((i_t%3600/60)); i_se=$((i_t%60)); [ $i_m -ge 10 ] || i_m=0$i_m; [ $i_dd -ge 10 ] || i_dd=0$i_dd; [ $i_h -ge 10 ] || i_h=0$i_h; [ $i_mi -ge 10 ] || i_mi=0$i_mi; [ $i_se -ge 10 ] || i_se=0$i_se; [ $i_c -ge 10 ] || i_c=0$i_c; TS=$i_y-$i_m-${i_dd}T$i_h:$i_mi:$i_se.${i_c}0Z; }
rr() { for il in 0:0 1:0 2:30 3:0 5:0 6:0 7:0 8:0 9:0; do i=${il%:*}; [ "$i" -ge "$1" ] || continue; pp "$i" "${il#*:}"; o=$( { p_$i; } 2>/dev/null ); r=$?; pn; printf '\036%s B %s %s\n%s\n\036%s E %s\n' "$N" "$i" "$r" "$o" "$N" "$i"; done; }
# step 0
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 't=; { { [ -d /srv/golden ] || mkdir -p -- /srv/golden; } &&
t=$(mktemp /srv/golden/.vpsp.XXXXXX) &&
base64 -d > "$t" <<'\''VPSP_EOF_af5352708882'\'' &&
eD0xCiVzICQoaWQpICdxJwo=
VPSP_EOF_af5352708882
chmod 0600 "$t" &&
if [ -e /srv/golden/a.conf ]; then chown --reference=/srv/golden/a.conf "$t"; fi &&
mv -f "$t" /srv/golden/a.conf; } || { rc=$?; [ -n "$t" ] && rm -f "$t"; exit $rc; }' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,conf' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 0 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 0; exit 0; fi; C_0=1; PC=changed; st=changed; cs=changed; mkdir -p /var/lib/vps-provision/pending-restarts && touch /var/lib/vps-provision/pending-restarts/0702d45540f04efb
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,conf' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 0 "$st" $((u-A))
# step 1
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 1 0; o=$( { p_1; } 2>/dev/null ); pn; if [ "$o" != missing ]; then printf '\036%s R %s\n' "$N" 1; rm -f "$T/ok"; : > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'if [ ! -f /srv/golden/b.conf ]; then mkdir -p -- /srv/golden && printf '\''%s\n'\'' '\''y=2 % $HOME'\'' > /srv/golden/b.conf; exit $?; fi
t=$(mktemp /srv/golden/.vpsp.XXXXXX) || exit 1
awk '\''BEGIN{if ((getline l < "/dev/stdin") <= 0) l = ""; if ((getline r < "/dev/stdin") <= 0) r = ""} r!="" && !m && $0 ~ r {m=NR; if ($0 != l) {c=1; print l; next}} $0==l {p=1} {print} END{if (m) exit (c ? 0 : 3); if (p) exit 3; print l}'\'' /srv/golden/b.conf > "$t" <<'\''VPSP_LINE_3e798091edd9'\''
y=2 % $HOME
^y=
VPSP_LINE_3e798091edd9
r=$?; if [ $r -eq 3 ]; then rm -f "$t"; : > "${0%/*}/ok"; exit 0; fi
[ $r -eq 0 ] && chmod --reference=/srv/golden/b.conf "$t" && chown --reference=/srv/golden/b.conf "$t" && mv -f "$t" /srv/golden/b.conf || { rm -f "$t"; exit 1; }' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,line' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 1 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 1; exit 0; fi; C_1=1; PC=changed; st=changed; cs=changed; if [ -e "$T/ok" ]; then st=ok; cs=ok; unset C_1; PC=$P1; fi; SD=1; else SD=; fi
if [ -z "$SD" ]; then : > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'mkdir -p -- /srv/golden && printf '\''%s\n'\'' '\''y=2 % $HOME'\'' > /srv/golden/b.conf' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,line' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 1 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 1; exit 0; fi; C_1=1; PC=changed; st=changed; cs=changed; fi
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,line' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 1 "$st" $((u-A))
# step 2
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 2 30; o=$( { p_2; } 2>/dev/null ); pn; if [ "$o" != creates=no ]; then printf '\036%s R %s\n' "$N" 2; rm -f "$T/ok"; : > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'if [ -e /srv/golden/made ]; then : > "${0%/*}/ok"; exit 0; fi
printf '\''made\n'\'' > /srv/golden/made' > "$T/a" && { lim 30; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,make it' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 2 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 2; exit 0; fi; C_2=1; PC=changed; st=changed; cs=changed; if [ -e "$T/ok" ]; then st=ok; cs=ok; unset C_2; PC=$P1; fi; SD=1; else SD=; fi
if [ -z "$SD" ]; then : > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'printf '\''made\n'\'' > /srv/golden/made' > "$T/a" && { lim 30; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,make it' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 2 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 2; exit 0; fi; C_2=1; PC=changed; st=changed; cs=changed; fi
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,make it' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 2 "$st" $((u-A))
# step 3
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 3 0; o=$( { p_3; } 2>/dev/null ); pn; if [ "$o" != unless=1 ]; then rr 3; printf '\036%s STALE %s\n' "$N" 3; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'echo guarded >> /srv/golden/log' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,guarded' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 3 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 3; exit 0; fi; C_3=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,guarded' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 3 "$st" $((u-A))
# step 4
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'echo always >> /srv/golden/log' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,always' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 4 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 4; exit 0; fi; C_4=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,always' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 4 "$st" $((u-A))
# step 5
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 5 0; o=$( { p_5; } 2>/dev/null ); pn; if [ "$o" != 'curl	ii 	8.14' ]; then rr 5; printf '\036%s STALE %s\n' "$N" 5; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'umask 022 && DEBIAN_FRONTEND=noninteractive flock -w 1800 /run/lock/vps-provision-apt.lock apt-get -y -q -o DPkg::Lock::Timeout=600 install -- xrdp' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,packages' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 5 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 5; exit 0; fi; C_5=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,packages' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 5 "$st" $((u-A))
# step 6
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 6 0; o=$( { p_6; } 2>/dev/null ); pn; if [ "$o" != absent ]; then rr 6; printf '\036%s STALE %s\n' "$N" 6; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'getent group sudo >/dev/null || groupadd sudo &&
useradd --create-home --user-group --shell /bin/bash --groups sudo dev &&
t=; { { [ -d /etc/sudoers.d ] || mkdir -p -- /etc/sudoers.d; } &&
t=$(mktemp /etc/sudoers.d/.vpsp.XXXXXX) &&
base64 -d > "$t" <<'\''VPSP_EOF_caa867994928'\'' &&
IyBtYW5hZ2VkIGJ5IHZwcy1wcm92aXNpb24KZGV2IEFMTD0oQUxMOkFMTCkgTk9QQVNTV0Q6IEFM
TAo=
VPSP_EOF_caa867994928
chmod 0440 "$t" &&
chown root:root "$t" &&
visudo -c -q -f "$t" || { rm -f "$t"; echo '\''validation failed: visudo -c -q -f'\'' >&2; exit 3; } &&
mv -f "$t" /etc/sudoers.d/90-vps-provision-dev; } || { rc=$?; [ -n "$t" ] && rm -f "$t"; exit $rc; }' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,dev user' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 6 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 6; exit 0; fi; C_6=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,dev user' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 6 "$st" $((u-A))
# step 7
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 7 0; o=$( { p_7; } 2>/dev/null ); pn; if [ "$o" != 'enabled

inactive' ]; then rr 7; printf '\036%s STALE %s\n' "$N" 7; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'systemctl start -- xrdp' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,xrdp up' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 7 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 7; exit 0; fi; C_7=1; PC=changed; st=changed; cs=changed
rm -f /var/lib/vps-provision/pending-restarts/0702d45540f04efb
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,xrdp up' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 7 "$st" $((u-A))
# step 8
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 8 0; o=$( { p_8; } 2>/dev/null ); pn; if [ "$o" != 'key=absent
list=absent' ]; then rr 8; printf '\036%s STALE %s\n' "$N" 8; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'umask 022
install -d -m 0755 /etc/apt/keyrings /etc/apt/sources.list.d
d=$(mktemp -d) || exit 1
fail() { rm -rf -- "$d"; printf '\''%s: %s\n'\'' '\''apt_repo vendor'\'' "$1" >&2; exit 1; }
curl -fsSL --proto =https --proto-redir =https --retry 3 --retry-delay 2 --connect-timeout 30 --max-time 300 -o "$d/key" https://example.com/key.gpg || fail '\''cannot download the key from https://example.com/key.gpg'\''
if grep -q -e '\''-----BEGIN PGP PUBLIC KEY BLOCK-----'\'' "$d/key"; then
  gpg --batch --quiet --homedir "$d" --dearmor < "$d/key" > "$d/key.gpg" || fail '\''gpg --dearmor failed on the ASCII-armoured key'\''
else
  b=$(od -An -N1 -tu1 "$d/key" | tr -d '\'' '\''); [ "${b:-0}" -ge 128 ] || fail '\''https://example.com/key.gpg is not an OpenPGP key (neither ASCII-armoured nor binary)'\''
  cp "$d/key" "$d/key.gpg"
fi
t=$(mktemp /etc/apt/keyrings/.vpsp.XXXXXX) && cat "$d/key.gpg" > "$t" && chmod 0644 "$t" && mv -f "$t" /etc/apt/keyrings/vendor.gpg || { rm -f "$t"; fail '\''cannot write the keyring'\''; }
if [ -f /etc/apt/sources.list.d/vendor.list ]; then cp -p /etc/apt/sources.list.d/vendor.list "$d/old.list"; fi
t=$(mktemp /etc/apt/sources.list.d/.vpsp.XXXXXX) && printf '\''%s'\'' '\''# written by vps-provision (apt_repo vendor); key from https://example.com/key.gpg
deb [signed-by=/etc/apt/keyrings/vendor.gpg] https://example.com/apt stable main
'\'' > "$t" && chmod 0644 "$t" && mv -f "$t" /etc/apt/sources.list.d/vendor.list || { rm -f "$t"; fail '\''cannot write the source list'\''; }
if ! DEBIAN_FRONTEND=noninteractive flock -w 1800 /run/lock/vps-provision-apt.lock apt-get -y -q -o DPkg::Lock::Timeout=600 update -o Dir::Etc::sourcelist=sources.list.d/vendor.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 -o APT::Update::Error-Mode=any; then
  if [ -f "$d/old.list" ]; then mv -f "$d/old.list" /etc/apt/sources.list.d/vendor.list; else rm -f /etc/apt/sources.list.d/vendor.list; fi
  fail '\''apt-get update of https://example.com/apt stable main failed (see above); the source list was taken out again'\''
fi
rm -rf -- "$d"' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,vendor repo' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 8 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 8; exit 0; fi; C_8=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,vendor repo' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 8 "$st" $((u-A))
# step 9
read u _ </proc/uptime; u=${u%.*}${u#*.}; A=$u; st=ok; cs=ok; P1=$PC
pp 9 0; o=$( { p_9; } 2>/dev/null ); pn; if [ "$o" != '' ]; then rr 9; printf '\036%s STALE %s\n' "$N" 9; exit 0; fi
: > "$T/out"; rmf "$T/out.k"; printf '%s\n' 'umask 022
d=$(mktemp -d) && chmod 0755 "$d" || exit 1
fail() { rm -rf -- "$d"; printf '\''%s: %s\n'\'' '\''deb vendor-tool'\'' "$1" >&2; exit 1; }
curl -fsSL --proto =https --proto-redir =https --retry 3 --retry-delay 2 --connect-timeout 30 --max-time 1800 -o "$d/package.deb" https://example.com/tool.deb || fail '\''cannot download https://example.com/tool.deb'\''
p=$(dpkg-deb -f "$d/package.deb" Package 2>/dev/null) || fail '\''https://example.com/tool.deb is not a Debian package'\''
[ "$p" = vendor-tool ] || fail "the .deb holds package $p, not "vendor-tool
cd "$d" && DEBIAN_FRONTEND=noninteractive flock -w 1800 /run/lock/vps-provision-apt.lock apt-get -y -q -o DPkg::Lock::Timeout=600 install -- ./package.deb || fail '\''apt-get install failed'\''
cd / && rm -rf -- "$d"' > "$T/a" && { lim 0; runstep; }
rc=$?; if [ $rc -ne 0 ]; then read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,vendor deb' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "failed" >> "$TF"; printf '\036%s F %s %s %s\n' "$N" 9 $rc "$TO"; { cat "$T/out.k" "$T/out" 2>/dev/null; } | tail -c 2000; printf '\n\036%s FE %s\n' "$N" 9; exit 0; fi; C_9=1; PC=changed; st=changed; cs=changed
read u _ </proc/uptime; u=${u%.*}${u#*.}; d=$((u-A)); s=$((E0+A-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,vendor deb' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$cs" >> "$TF"
printf '\036%s S %s %s %s\n' "$N" 9 "$st" $((u-A))
read u _ </proc/uptime; u=${u%.*}${u#*.}
iso $((E0+u-U0))
{ printf '%s %s %s\n' ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff "${TS%.*}Z" 20261130T000000Z-0123456789abcdef > /var/lib/vps-provision/checkpoints/base; } 2>/dev/null
d=$((u-P0)); s=$((E0+P0-U0)); iso $((E0+u-U0)); printf '%s,%s,%d.%02d,%d.%02d,%s\n' "$TS" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,' $((s/100)) $((s%100)) $((d/100)) $((d%100)) "$PC" >> "$TF"
printf '\036%s END\n' "$N"
