sh -c '#!/bin/sh
# vps-provision benchmark: CPU, disk write/read, network download and latency.
# Usage: benchmark.sh WORKDIR [DISK_MB] [URL] [MAX_TIME_S]
#   WORKDIR     folder for the disk test file (created; the file is removed at exit)
#   DISK_MB     size of the disk test file in MiB (default 256)
#   URL         file to download for the network test; empty = network tests skipped
#   MAX_TIME_S  cap on the download, seconds (default 30)
#
# Prints one line per metric, fields separated by single spaces:
#   bench <metric> <ok|skipped|failed> <value|-> <unit|-> <detail...>
# and, first, the facts of the machine the figures belong to:
#   fact <name> <value...>   (kernel, cpu_model, cores, ram_mb, disk_total_gb, fs)
# Only POSIX sh, coreutils (dd, sha256sum, date, stat), awk and curl (network).

set -u
WORKDIR=${1:?usage: benchmark.sh WORKDIR [DISK_MB] [URL] [MAX_TIME_S]}
DISK_MB=${2:-256}
URL=${3:-}
MAXT=${4:-30}
CPU_OPS=256          # fixed workload: 256 x sha256 of 1 MiB, so results compare across runs
# VPS_BENCH_DIRECT=no skips O_DIRECT (for filesystems where it misbehaves, and to
# exercise the fallback path in tests).
DIRECT=${VPS_BENCH_DIRECT:-yes}
export LC_ALL=C

case $DISK_MB in '\'''\''|*[!0-9]*|0) echo "benchmark: DISK_MB must be a positive integer" >&2; exit 2 ;; esac
case $MAXT in '\'''\''|*[!0-9]*|0) echo "benchmark: MAX_TIME_S must be a positive integer" >&2; exit 2 ;; esac

mkdir -p "$WORKDIR" || exit 1

# --- the machine: a baseline taken on another one is not comparable
echo "fact kernel $(uname -r 2>/dev/null || echo unknown)"
echo "fact cpu_model $(awk -F'\'': *'\'' '\''/^model name/ { print $2; exit }'\'' /proc/cpuinfo 2>/dev/null | tr -s '\'' '\'')"
echo "fact cores $(nproc 2>/dev/null || echo 0)"
echo "fact ram_mb $(awk '\''/^MemTotal:/ { printf "%d", $2 / 1024 }'\'' /proc/meminfo 2>/dev/null)"
echo "fact disk_total_gb $(df -Pk "$WORKDIR" 2>/dev/null | awk '\''NR==2 { printf "%.1f", $2 / 1048576 }'\'')"
echo "fact fs $(stat -f -c %T "$WORKDIR" 2>/dev/null || echo unknown)"
data="$WORKDIR/vps-bench.$$.dat"
buf="$WORKDIR/vps-bench.$$.buf"
trap '\''rm -f "$data" "$buf"'\'' EXIT
trap '\''exit 130'\'' INT TERM HUP

now_ns() { date +%s%N; }
# rate AMOUNT ELAPSED_NS [DIVISOR] -> AMOUNT/DIVISOR per second, 1 decimal
rate() { awk -v v="$1" -v ns="$2" -v d="${3:-1}" '\''BEGIN { if (ns <= 0) ns = 1; printf "%.1f", v / d / (ns / 1e9) }'\''; }
line() { echo "bench $*"; }

# --- CPU: single core, fixed number of sha256 over a fixed 1 MiB buffer (page cache)
if dd if=/dev/zero of="$buf" bs=1048576 count=1 2>/dev/null; then
  set --
  i=0
  while [ $i -lt $CPU_OPS ]; do set -- "$@" "$buf"; i=$((i + 1)); done
  sha256sum "$buf" >/dev/null 2>&1   # warm the page cache
  t0=$(now_ns)
  if sha256sum "$@" >/dev/null 2>&1; then
    t1=$(now_ns)
    line cpu ok "$(rate $CPU_OPS $((t1 - t0)))" ops/s "sha256 of 1 MiB x $CPU_OPS, 1 core of $(nproc 2>/dev/null || echo '\''?'\'')"
  else
    line cpu failed - - "sha256sum failed"
  fi
  rm -f "$buf"
else
  line cpu failed - - "cannot write $buf"
fi

# --- Disk write: O_DIRECT + fsync bypasses the page cache; tmpfs and some
# filesystems refuse O_DIRECT, then fsync alone is used (and said so).
fstype=$(stat -f -c %T "$WORKDIR" 2>/dev/null || echo unknown)
bytes=$((DISK_MB * 1048576))
wmethod=
t0=$(now_ns)
if [ "$DIRECT" != no ] && dd if=/dev/zero of="$data" bs=1M count="$DISK_MB" oflag=direct conv=fsync 2>/dev/null; then
  t1=$(now_ns); wmethod="O_DIRECT+fsync"
else
  rm -f "$data"
  t0=$(now_ns)
  if dd if=/dev/zero of="$data" bs=1M count="$DISK_MB" conv=fsync 2>/dev/null; then
    t1=$(now_ns); wmethod="fsync (O_DIRECT not used on $fstype)"
  fi
fi
if [ -n "$wmethod" ]; then
  line disk_write ok "$(rate $bytes $((t1 - t0)) 1000000)" MB/s "$DISK_MB MiB, $wmethod, fs $fstype"
else
  line disk_write failed - - "dd could not write $DISK_MB MiB to $WORKDIR ($fstype)"
fi

# --- Disk read: O_DIRECT; else drop this file'\''s cached pages (nocache) first.
if [ -n "$wmethod" ]; then
  rmethod=
  t0=$(now_ns)
  if [ "$DIRECT" != no ] && dd if="$data" of=/dev/null bs=1M iflag=direct 2>/dev/null; then
    t1=$(now_ns); rmethod="O_DIRECT"
  else
    dd if="$data" iflag=nocache count=0 2>/dev/null
    t0=$(now_ns)
    if dd if="$data" of=/dev/null bs=1M iflag=nocache 2>/dev/null; then
      t1=$(now_ns)
      case $fstype in
        tmpfs|ramfs) rmethod="from memory: $fstype has no disk (O_DIRECT not used)" ;;
        *) rmethod="nocache (O_DIRECT not used on $fstype)" ;;
      esac
    fi
  fi
  if [ -n "$rmethod" ]; then
    line disk_read ok "$(rate $bytes $((t1 - t0)) 1000000)" MB/s "$DISK_MB MiB, $rmethod, fs $fstype"
  else
    line disk_read failed - - "dd could not read $data"
  fi
else
  line disk_read skipped - - "no test file (the write failed)"
fi
rm -f "$data"

# --- Network: download throughput and TCP connect latency to the URL'\''s host
if [ -z "$URL" ]; then
  line net_download skipped - - "no URL configured"
  line net_latency skipped - - "no URL configured"
elif ! command -v curl >/dev/null 2>&1; then
  line net_download skipped - - "curl not installed"
  line net_latency skipped - - "curl not installed"
else
  out=$(curl -sS -o /dev/null --max-time "$MAXT" -w '\''%{http_code} %{size_download} %{speed_download}'\'' "$URL" 2>/dev/null)
  rc=$?
  set -- $out
  code=${1:-000} size=${2:-0} speed=${3:-0}
  if [ "$code" -ge 200 ] 2>/dev/null && [ "$code" -lt 300 ] && [ "${size%.*}" -gt 0 ] && { [ $rc -eq 0 ] || [ $rc -eq 28 ]; }; then
    note="$size bytes"
    [ $rc -eq 28 ] && note="$note, stopped at the $MAXT s cap"
    line net_download ok "$(awk -v s="$speed" '\''BEGIN { printf "%.1f", s * 8 / 1e6 }'\'')" Mbps "$note"
  else
    line net_download failed - - "curl exit $rc, HTTP $code"
  fi
  # median of 5 TCP connects (HEAD requests keep the transfer out of it)
  times=
  i=0
  while [ $i -lt 5 ]; do
    t=$(curl -sS -I -o /dev/null --max-time 10 -w '\''%{time_namelookup} %{time_connect}'\'' "$URL" 2>/dev/null) && times="$times $t"
    i=$((i + 1))
  done
  if [ -n "$times" ]; then
    med=$(echo $times | awk '\''{ n = 0; for (i = 1; i < NF; i += 2) v[++n] = ($(i + 1) - $i) * 1000
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      printf "%.3f %d", (n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2), n }'\'')
    line net_latency ok "${med% *}" ms "median TCP connect of ${med#* } tries"
  else
    line net_latency failed - - "no connection to the URL host"
  fi
fi
exit 0
' vps-benchmark /var/lib/vps-provision/bench 64 https://example.com/100MB.bin 20 </dev/null