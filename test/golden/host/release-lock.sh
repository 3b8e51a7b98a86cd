grep -qx run=20261130T000000Z-0123456789abcdef '/var/lib/vps-provision/it'\''s/lock'/owner 2>/dev/null && rm -rf -- '/var/lib/vps-provision/it'\''s/lock'; true
