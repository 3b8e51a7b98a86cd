isrun() { case $1 in [0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z-*) ;; *) return 1;; esac; h=${1#*Z-}; case $h in *[!0-9a-f]*) return 1;; esac; [ ${#h} -ge 4 ] && [ ${#h} -le 32 ]; }
set --; for d in /var/lib/vps-provision/runs/[0-9]*Z-*; do b=${d##*/}; isrun "$b" && [ "$b" != 20261130T000000Z-0123456789abcdef ] && set -- "$@" "$d"; done
c=$#; for d; do shift; [ $c -le 4 ] || set -- "$@" "$d"; c=$((c-1)); done
[ $# -eq 0 ] || rm -rf -- "$@"; true
