printf '%s' '{"a":"it'\''s"}
' > /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/run.json.tmp.$$ && mv -f /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/run.json.tmp.$$ /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/run.json
printf '%s' 'x,y
' > /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/controller-timing.csv.tmp.$$ && mv -f /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/controller-timing.csv.tmp.$$ /var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/controller-timing.csv
