(
f=/var/lib/vps-provision/runs/20261130T000000Z-0123456789abcdef/resources.csv; [ -f "$f" ] && tail -n +5 "$f"; exit 0
)
