(
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
readpid
if alive "$p"; then
  rm -f "$pf"
  kill -TERM "$p" 2>/dev/null
  i=0
  while alive "$p" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$p"; then kill -KILL "$p" 2>/dev/null; echo "monitor: killed $p"; else echo "monitor: stopped $p"; fi
else
  rm -f "$pf"
  echo "monitor: not-running"
fi
)
