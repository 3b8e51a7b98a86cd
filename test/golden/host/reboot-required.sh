[ ! -e /var/run/reboot-required ] || printf '\036%s REBOOT\n' 0123456789ab
