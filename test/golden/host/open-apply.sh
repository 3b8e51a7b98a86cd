N=0123456789ab; S=/var/lib/vps-provision; L="$S/lock"
[ ! -L "$S" ] || { printf '\036%s ERR state dir %s is a symbolic link\n' "$N" "$S"; exit 0; }
[ -d "$S" ] || ( umask 077 && mkdir -p "$S" ) || { printf '\036%s ERR cannot create %s\n' "$N" "$S"; exit 0; }
if [ -d "$S" ]; then SOM=$(stat -c '%u %a' -- "$S") || { printf '\036%s ERR cannot inspect %s\n' "$N" "$S"; exit 0; }; SO=${SOM% *}; SM=${SOM#* }; U=; { while read -r k r e _; do [ "$k" = Uid: ] && { U=$e; break; }; done </proc/self/status; } 2>/dev/null; [ -n "$U" ] || U=$(id -u)
  [ "$SO" = "$U" ] || { printf '\036%s ERR state dir %s is owned by uid %s, not by %s (uid %s)\n' "$N" "$S" "$SO" "$(id -un)" "$U"; exit 0; }
  [ $(( 0$SM & 022 )) -eq 0 ] || { printf '\036%s ERR state dir %s may be written by group or others (mode %s)\n' "$N" "$S" "$SM"; exit 0; }; fi
( umask 077 && mkdir -p "$S/checkpoints" "$S/runs/"20261130T000000Z-0123456789abcdef/.new "$S/.lock.$N" ) || { printf '\036%s ERR cannot create %s\n' "$N" "$S"; exit 0; }
B=; { read -r B </proc/sys/kernel/random/boot_id; } 2>/dev/null
o_i=; o_v=; o_c=; o_p=; { while IFS== read -r k v; do case $v in \"*\") v=${v#\"}; v=${v%\"};; \'*\') v=${v#\'}; v=${v%\'};; esac; case $k in ID) o_i=$v;; VERSION_ID) o_v=$v;; VERSION_CODENAME) o_c=$v;; PRETTY_NAME) o_p=$v;; esac; done </etc/os-release; } 2>/dev/null; a=; { read -r a </proc/sys/kernel/arch; } 2>/dev/null || a=$(uname -m 2>/dev/null); OSR="$o_i|$o_v|$o_c|$a|$o_p"; printf '\036%s OS %s|%s\n' "$N" "${VPSP_USER:-$(id -un)}" "$OSR"
for f in "$S"/checkpoints/*; do [ -f "$f" ] || continue; case "$f" in *.tmp) continue;; esac; read -r c <"$f"; printf '\036%s CK %s %s\n' "$N" "${f##*/}" "$c"; done
R=20261130T000000Z-0123456789abcdef; H='ana@laptop (pid 1234) '\''x'\'''; SI=2026-11-28T02:21:00Z
info() { printf 'run=%s\nholder=%s\npid=%s\nboot=%s\nsince=%s\n' "$R" "$H" "${VPSP_DRIVER:-$PPID}" "$B" "$SI"; }
own() { t="$S/.lock.$N"; [ -d "$t" ] || mkdir -- "$t" 2>/dev/null || return 1; if info > "$t/owner" && mv -T -- "$t" "$L" 2>/dev/null; then return 0; fi; rm -rf -- "$t"; return 1; }
rdo() { run=; holder=; pid=; boot=; since=; [ -f "$1/owner" ] || return 1; while IFS='=' read -r k v; do case "$k" in run) run=$v;; holder) holder=$v;; pid) pid=$v;; boot) boot=$v;; since) since=$v;; esac; done < "$1/owner"; [ -n "$run" ]; }
age() { a=$(stat -c %Y -- "$1" 2>/dev/null) || { echo 0; return; }; echo $(( $(date +%s) - a )); }
say() { printf '\036%s LOCK %s %s|%s|%s\n' "$N" "$1" "$since" "$run" "$holder"; }
stopold() {
case $1 in ''|.*|*[!A-Za-z0-9._-]*) return 0;; esac
pf="$S/runs/$1/monitor.pid"
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
} >/dev/null 2>&1
OWN=; ST=
if [ ! -e "$L" ] && own; then ST=acquired; run=; holder=; since=
elif rdo "$L" && [ "$run" = "$R" ]; then
  info > "$L/owner.new" && mv -f -- "$L/owner.new" "$L/owner" && ST=acquired
elif [ -n "$run" ]; then
  if [ -n "$pid" ] && [ "$boot" = "$B" ] && [ -d "/proc/$pid" ]; then ST=held; else ST=stale; fi
elif [ ! -e "$L" ] && own; then ST=acquired
elif [ "$(age "$L")" -lt 60 ]; then ST=held; since=; run=; holder='(a lock without an owner, held for 60 s)'
else ST=stale; fi
if [ "$ST" = stale ]; then
  X=$run; ST=held
  if mkdir "$L/.takeover" 2>/dev/null; then
    if { rdo "$L" || [ -z "$X" ]; } && [ "$run" = "$X" ] && mv -T -- "$L" "$S/.lock.stale.$N" 2>/dev/null; then
      own && rdo "$L" && [ "$run" = "$R" ] && ST=stale
      rdo "$S/.lock.stale.$N"; stopold "$run"; [ "$ST" = stale ] || rdo "$L"
      rm -rf -- "$S/.lock.stale.$N"
    else rmdir -- "$L/.takeover" 2>/dev/null; rdo "$L"; fi
  elif [ "$(age "$L/.takeover")" -ge 60 ]; then rmdir -- "$L/.takeover" 2>/dev/null; fi
fi
[ "$ST" = held ] || OWN=1
[ ! -d "$S/.lock.$N" ] || rm -rf -- "$S/.lock.$N"
say "$ST"
if [ "$OWN" = 1 ]; then
{
vpsp_monitor_start() {
umask 022
d=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef; pf=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/monitor.pid; s=/var/lib/vps-provision/bin/sampler.sh
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
{ [ -d "$d" ] && [ -d /var/lib/vps-provision/bin ]; } || mkdir -p "$d" /var/lib/vps-provision/bin || { echo "monitor: failed cannot create $d"; return 1; }
readpid
if alive "$p"; then echo "monitor: already-running $p"; return 0; fi
[ ! -e "$pf" ] || rm -f "$pf"
set -- "$pf".fifo.*
[ ! -e "$1" ] || rm -f "$@"
h=
{ read -r h < "$s.sha256"; } 2>/dev/null
if [ "$h" != 9ca76c6f326343cee8b68ce13a4f597a0cd0c63f0db133ea8fdc41769ee392a2 ] || [ ! -f "$s" ]; then
  t=$(mktemp /var/lib/vps-provision/bin/.sampler.XXXXXX) && printf '%s' '#!/bin/sh
# vps-provision resource sampler: appends one CSV row per interval to OUT_CSV.
# Usage: sampler.sh OUT_CSV INTERVAL_S MAX_LIFETIME_S HOST PIDFILE
#
# Started detached (setsid, all fds redirected) so it survives a dropped SSH
# connection. It stops when PIDFILE is removed or no longer holds its PID, on
# TERM/INT, or after MAX_LIFETIME_S, so it never runs for ever.
#
# Cost: one long-lived awk reads /proc and keeps the previous counters in memory;
# per sample the shell forks only date, df and sleep (measured well under 1 % CPU); the
# baseline (the first tick, which makes no row) forks none of them.
# Units: MB = MiB; *_kbps = KiB/s (disk and network alike); cpu_pct over all CPUs.
# Only POSIX sh (dash), coreutils, awk and /proc are used.

set -u

if [ $# -ne 5 ]; then
  echo "usage: sampler.sh OUT_CSV INTERVAL_S MAX_LIFETIME_S HOST PIDFILE" >&2
  exit 2
fi
OUT=$1 INTERVAL=$2 MAXLIFE=$3 HOST=$4 PIDFILE=$5
case $INTERVAL in '\'''\''|*[!0-9]*|0) echo "sampler: INTERVAL_S must be a positive integer" >&2; exit 2 ;; esac
case $MAXLIFE in '\'''\''|*[!0-9]*|0) echo "sampler: MAX_LIFETIME_S must be a positive integer" >&2; exit 2 ;; esac

# A background child of a non-interactive shell could otherwise be hung up with
# the SSH session; the sampler must outlive it.
trap '\'''\'' HUP
# A write to the FIFO after awk died must not kill the shell before it cleans up.
trap '\'''\'' PIPE
stopping=0
trap '\''stopping=1'\'' TERM INT
# USR1: the run'\''s closing script stops it and removes its PID file and FIFO itself (with
# the lock, in one rm), so they are left in place
trap '\''stopping=2'\'' USR1

# The PID file first: the start command waits for it, and the sooner it is there the
# sooner a run goes on (a stop that comes during the set-up below is seen by the loop).
# noclobber: never written through a file or symlink that is already there (the start
# command removed any old one). One short write: a reader that comes between the create
# and the write reads nothing, and reads again.
# The start command writes it itself from $! (VPSP_SAMPLER_PIDFILE=given), so it need not
# wait for this process to start.
if [ "${VPSP_SAMPLER_PIDFILE:-}" != given ]; then
  set -C
  if ! { echo $$ > "$PIDFILE"; } 2>/dev/null; then exit 1; fi
  set +C
fi
# a set-up that fails takes its PID file with it
unstart() { rm -f "$PIDFILE"; exit 1; }

if [ ! -s "$OUT" ]; then
  echo '\''timestamp,host,cpu_pct,mem_used_mb,mem_available_mb,disk_avail_mb,disk_read_kbps,disk_write_kbps,net_rx_kbps,net_tx_kbps,load1,procs'\'' >> "$OUT"
fi

# Lifetime is kept in centiseconds of /proc/uptime (monotonic, no fork; whole
# seconds would truncate up to 1 s off the lifetime).
uptime_cs() { read up _ < /proc/uptime; up=${up%.*}${up#*.}; up=${up#"${up%%[!0]*}"}; }
uptime_cs
started=${up:-0}

# The awk reads ticks from a FIFO so that it lives as long as the sampler and
# computes rates from counters kept in memory (no state file, no awk per sample).
fifo="$PIDFILE.fifo.$$"
[ ! -e "$fifo" ] || rm -f "$fifo"
mkfifo -m 600 "$fifo" || unstart
# A read-write open never blocks (a write-only one would wait for ever if awk
# failed to start); awk still sees EOF once this, the only writer, closes it. It is
# open before awk starts: awk'\''s own read-only open of it (its stdin, below) never
# waits, even when a stop comes at once and this closes it first (awk'\''s copy of
# fd 3, closed only after that open, is a writer until then).
exec 3<> "$fifo"

sysblock=0
[ -d /sys/block ] && sysblock=1
# mawk fills its whole read buffer before handing over a line unless told it is
# interactive; without this every sample would be taken at once, at exit. Which awk runs
# is told by builtins when it is Debian'\''s mawk or gawk (the file the PATH'\''s awk is, -ef),
# else by asking it.
aw=
oifs=$IFS; IFS=:; set -f
for d in $PATH; do [ -x "${d:-.}/awk" ] && { aw=${d:-.}/awk; break; }; done
set +f; IFS=$oifs
if [ -n "$aw" ] && { [ "$aw" -ef /usr/bin/mawk ] || [ "$aw" -ef /bin/mawk ]; }; then set -- -W interactive
elif [ -n "$aw" ] && { [ "$aw" -ef /usr/bin/gawk ] || [ "$aw" -ef /bin/gawk ]; }; then set --
else case $(awk -W version 2>&1 </dev/null) in *mawk*) set -- -W interactive ;; *) set -- ;; esac
fi
SAMPLER_OUT=$OUT SAMPLER_HOST=$HOST SAMPLER_SYSBLOCK=$sysblock awk "$@" '\''
function csvq(s) { if (s ~ /[",\r\n]/) { gsub(/"/, "\"\"", s); return "\"" s "\"" } return s }
function iso(ms,    s, days, secs, z, era, doe, yoe, y, doy, mp, d, m) {
  s = int(ms / 1000); ms = ms - s * 1000
  days = int(s / 86400); secs = s - days * 86400
  # civil-from-days (H. Hinnant); awk has no portable strftime
  z = days + 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
  mp = int((5 * doy + 2) / 153); d = doy - int((153 * mp + 2) / 5) + 1
  m = mp < 10 ? mp + 3 : mp - 9; if (m <= 2) y++
  return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, int(secs / 3600), int(secs % 3600 / 60), secs % 60, ms)
}
function wholedisk(name,    x, r) {
  if (name in whole) return whole[name]
  r = 0
  if (name !~ /^(loop|ram|zram|dm-|md|sr|fd|nbd)/) {
    if (sysok) { if ((getline x < ("/sys/block/" name "/dev")) > 0) r = 1; close("/sys/block/" name "/dev") }
    else if (name ~ /^((sd|vd|xvd|hd)[a-z]+|nvme[0-9]+n[0-9]+|mmcblk[0-9]+)$/) r = 1
  }
  whole[name] = r
  return r
}
function pos(v) { return v < 0 ? 0 : v }
function sample(    line, f, tot, idl, i, memtot, memav, rd, wr, rx, tx, load, up, dt, cpu) {
  getline line < "/proc/stat"; close("/proc/stat")
  split(line, f, " "); tot = 0
  for (i = 2; i <= 9 && i in f; i++) tot += f[i]   # user..steal; guest is already in user
  idl = f[5] + f[6]
  memtot = memav = -1
  while ((getline line < "/proc/meminfo") > 0) {
    split(line, f, " ")
    if (f[1] == "MemTotal:") memtot = f[2]; else if (f[1] == "MemAvailable:") memav = f[2]
  }
  close("/proc/meminfo")
  rd = wr = 0
  while ((getline line < "/proc/diskstats") > 0) {
    split(line, f, " ")
    if (wholedisk(f[3])) { rd += f[6]; wr += f[10] }   # 512-byte sectors
  }
  close("/proc/diskstats")
  rx = tx = 0
  while ((getline line < "/proc/net/dev") > 0) {
    if (line !~ /:/) continue
    sub(/:/, " ", line); split(line, f, " ")
    if (f[1] != "lo") { rx += f[2]; tx += f[10] }
  }
  close("/proc/net/dev")
  getline line < "/proc/loadavg"; close("/proc/loadavg"); split(line, f, " "); load = f[1]
  getline line < "/proc/uptime"; close("/proc/uptime"); split(line, f, " "); up = f[1]
  if (have) {
    dt = up - pup
    if (dt > 0) {
      cpu = (tot - ptot) > 0 ? 100 * pos((tot - ptot) - (idl - pidl)) / (tot - ptot) : 0
      if (cpu > 100) cpu = 100
      row = sprintf("%s,%s,%.1f,%d,%d,%d,%.1f,%.1f,%.1f,%.1f,%s,%d\n", iso(nowms), host, cpu,
        (memtot - memav) / 1024, memav / 1024, diskkb / 1024,
        pos(rd - prd) / 2 / dt, pos(wr - pwr) / 2 / dt, pos(rx - prx) / 1024 / dt, pos(tx - ptx) / 1024 / dt,
        load, procs)
      # one printf + close = one write(2) on an O_APPEND file: rows never interleave or tear
      printf "%s", row >> out; close(out)
    }
  }
  have = 1; ptot = tot; pidl = idl; prd = rd; pwr = wr; prx = rx; ptx = tx; pup = up
}
BEGIN {
  out = ENVIRON["SAMPLER_OUT"]; host = csvq(ENVIRON["SAMPLER_HOST"])
  sysok = ENVIRON["SAMPLER_SYSBLOCK"] == 1
  diskkb = 0
  # ticks arrive on the FIFO: a T line (epoch ms), a P line (process count),
  # df -P output, then E, which takes the sample.
  while ((getline line) > 0) {
    n = split(line, a, " ")
    if (indf && n >= 6) diskkb = a[n - 2]        # Available column of df -P
    else if (a[1] == "T") {
      if (a[2] ~ /^[0-9]+$/) nowms = a[2] + 0
      else { srand(); nowms = srand() * 1000 }   # date without %N (busybox): whole seconds
      indf = 0
    }
    else if (a[1] == "P") procs = a[2]
    else if (a[1] == "Filesystem") indf = 1
    else if (a[1] == "E") { sample(); indf = 0 }
  }
}
'\'' < "$fifo" 3>&- &
awkpid=$!

cleanup() {
  exec 3>&-                      # EOF lets awk finish its last row and exit
  [ -n "${sleeppid:-}" ] && kill "$sleeppid" 2>/dev/null
  wait "$awkpid" 2>/dev/null
  # stopped by USR1: the closing script removes the files (see the trap)
  [ "$stopping" = 2 ] && exit 0
  rm -f "$fifo"
  p=
  { read p < "$PIDFILE"; } 2>/dev/null
  [ "$p" = "$$" ] && rm -f "$PIDFILE"   # never remove a newer sampler'\''s pid file
  exit 0
}

tick() {
  set -- /proc/[0-9]*
  { echo "T $(date -u +%s%3N 2>/dev/null)"; echo "P $#"; LC_ALL=C df -Pk / 2>/dev/null; echo E; } >&3
}

# First tick is a baseline, the second comes after 1 s so the first row has
# real rates even for a run shorter than one interval. The baseline makes no row:
# awk keeps only its counters (from /proc), so it needs no date and no df.
set -- /proc/[0-9]*
{ echo "P $#"; echo E; } >&3
pause=1
while :; do
  [ "$stopping" = 0 ] || cleanup
  # the sleep must not hold the FIFO open, or awk would wait for it to see EOF
  sleep "$pause" 3>&- &
  sleeppid=$!
  wait "$sleeppid"               # returns at once when TERM (or USR1) is trapped
  [ "$stopping" = 0 ] || cleanup
  sleeppid=
  p=
  { read p < "$PIDFILE"; } 2>/dev/null
  [ "$p" = "$$" ] || cleanup
  uptime_cs
  [ $(( ${up:-0} - started )) -ge $(( MAXLIFE * 100 )) ] && cleanup
  kill -0 "$awkpid" 2>/dev/null || cleanup
  tick
  pause=$INTERVAL
done
' > "$t" && mv -f "$t" "$s" && printf '%s\n' 9ca76c6f326343cee8b68ce13a4f597a0cd0c63f0db133ea8fdc41769ee392a2 > "$s.sha256" || { rm -f "$t"; echo "monitor: failed cannot write $s"; return 1; }
fi
# the sampler leaves its PID file to this (VPSP_SAMPLER_PIDFILE)
if command -v setsid >/dev/null 2>&1; then
  VPSP_SAMPLER_PIDFILE=given setsid sh "$s" /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/resources.csv 10 3600 web-1 /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/monitor.pid </dev/null >/dev/null 2>>"$d/monitor.log" &
else
  VPSP_SAMPLER_PIDFILE=given sh "$s" /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/resources.csv 10 3600 web-1 /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/monitor.pid </dev/null >/dev/null 2>>"$d/monitor.log" &
fi
p=$!
set -C
{ echo "$p" > "$pf"; } 2>/dev/null
r=$?
set +C
if [ $r -eq 0 ]; then echo "monitor: started $p"; return 0; fi
kill "$p" 2>/dev/null
echo "monitor: failed cannot write $pf"; return 1
}
vpsp_monitor_start
}

fi
printf '\036%s END\n' "$N"
