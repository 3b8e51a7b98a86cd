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
readpid; SP=
rm -f "$pf"
if alive "$p"; then kill -TERM "$p" 2>/dev/null; SP=$p; fi
if [ -n "$SP" ]; then
  i=0
  while alive "$SP" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  if alive "$SP"; then kill -KILL "$SP" 2>/dev/null; echo "monitor: killed $SP"; else echo "monitor: stopped $SP"; fi
else
  echo "monitor: not-running"
fi
)
