W=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/.new; [ -d "$W" ] || mkdir -p -- "$W"; set --
printf '%s' '{"a":"it'\''s"}
' > "$W"/run.json && set -- "$@" "$W"/run.json
printf '%s' 'x,y
' > "$W"/controller-timing.csv && set -- "$@" "$W"/controller-timing.csv
[ $# -eq 0 ] || mv -f -t /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef -- "$@"
pf=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/monitor.pid
alive() {
  case $1 in ''|*[!0-9]*) return 1 ;; esac
  st=
  { read -r st < "/proc/$1/stat"; } 2>/dev/null || return 1
  st=${st##*) }
  [ "${st%% *}" != Z ] || return 1
  cl=
  { read -r cl < "/proc/$1/cmdline"; } 2>/dev/null
  case $cl in *sampler.sh*) return 0 ;; esac
  return 1
}
readpid() { p=; { read -r p < "$pf"; } 2>/dev/null; }
readpid; SP=; SQ=$p
if alive "$p"; then kill -USR1 "$p" 2>/dev/null; SP=$p; fi
for f in timing.csv; do p=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/"$f"; if [ -f "$p" ]; then printf '\036%s B %s 0\n' 0123456789ab "$f"; cat "$p"; printf '\n\036%s E %s\n' 0123456789ab "$f"; fi; done
if [ -n "$SP" ]; then
  i=0
  while alive "$SP" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$SP"; then kill -KILL "$SP" 2>/dev/null; echo "monitor: killed $SP"; else echo "monitor: stopped $SP"; fi
else
  echo "monitor: not-running"
fi
for f in resources.csv; do p=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/"$f"; if [ -f "$p" ]; then printf '\036%s B %s 0\n' 0123456789ab "$f"; { i=0; l=; while [ $i -lt 16 ] && IFS= read -r l; do printf '%s\n' "$l"; l=; i=$((i+1)); done; if [ $i -lt 16 ]; then printf '%s' "$l"; else cat; fi; } < "$p"; printf '\n\036%s E %s\n' 0123456789ab "$f"; fi; done
[ ! -e /var/run/reboot-required ] || printf '\036%s REBOOT\n' 0123456789ab
isrun() { case $1 in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;; *) return 1;; esac; h=${1#*Z-}; case $h in *[!0-9a-f]*) return 1;; esac; [ ${#h} -ge 4 ] && [ ${#h} -le 32 ]; }
set --; for d in /var/lib/vps-provision/runs/[0-9]*Z-*; do b=${d##*/}; isrun "$b" && [ "$b" != 20261130T000000Z-0123456789abcdef ] && set -- "$@" "$d"; done
c=$#; for d; do shift; [ $c -le 4 ] || set -- "$@" "$d"; c=$((c-1)); done

f=; { while IFS= read -r x || [ -n "$x" ]; do [ "$x" != run=20261130T000000Z-0123456789abcdef ] || { f=1; break; }; done < '/var/lib/vps-provision/lock'/owner; } 2>/dev/null; [ -z "$f" ] || set -- "$@" '/var/lib/vps-provision/lock'
set -- "$@" "$pf"; case $SQ in ''|*[!0-9]*) ;; *) set -- "$@" "$pf.fifo.$SQ";; esac
set -- "$@" /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/.new
case ${VPSP_TMP:-} in /*/vpsp.????????) set -- "$@" "$VPSP_TMP";; esac
rm -rf -- "$@"; true
