TF=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/timing.csv; [ -s "$TF" ] || printf '%s\n' timestamp,run_id,host,phase,step,start_epoch_s,duration_s,status >> "$TF"
ts=$(date -u '+%Y-%m-%dT%H:%M:%S.%3NZ %s.%2N'); ep=${ts#* }; ts=${ts% *}
printf '%s,%s,%s,%s,ok\n' "$ts" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,conf' "$ep" 0.00 "$ts" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,"line ""two"", 50%"' "$ep" 0.00 "$ts" '20261130T000000Z-0123456789abcdef,"web-1, ""east""",base,' "$ep" 1.23 >> "$TF"
{ printf '%s %s %s\n' ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff "${ts%.*}Z" 20261130T000000Z-0123456789abcdef > /var/lib/vps-provision/checkpoints/base; } 2>/dev/null
