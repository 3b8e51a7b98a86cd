N=0123456789ab
if ! command -v curl >/dev/null 2>&1; then printf '\036%s NOCURL\n' "$N"
elif ! D=$(mktemp -d); then printf '\036%s SRCERR cannot make a temp dir\n' "$N"
else
vpsp_try() {
  p=$1; u=$2; shift 2
  o=$(curl -sS -L --max-redirs 10 --connect-timeout 10 --max-time 20 -o /dev/null -D - -w '\nvpsp-w %{http_code}\n' --proto "$p" --proto-redir "$p" "$@" -- "$u" 2>&1 </dev/null); e=$?
  w=$(printf '%s\n' "$o" | sed -n 's/^vpsp-w //p' | tail -n 1)
  m=$(printf '%s\n' "$o" | grep '^curl: ' | head -n 1 | tr -d '\r')
  r=$(printf '%s\n' "$o" | sed -n 's/^[Ll][Oo][Cc][Aa][Tt][Ii][Oo][Nn]:[[:space:]]*//p' | tail -n 1 | tr -d ' \t\r')
  c=$w
  [ "$e" = 0 ] && case $c in 2??) true;; *) false;; esac
}
vpsp_reach() {
  i=$1; p=$2; shift 2; k=-1
  for u in "$@"; do
    k=$((k + 1))
    vpsp_try "$p" "$u" -I && break
    case $e in 1|6|7|28|35|60) break;; esac
    vpsp_try "$p" "$u" -r 0-0 && break
    case $e in 1|6|7|28|35|60) break;; esac
  done
  printf '\036%s SRC %s %s %s %s %s %s\n' "$N" "$i" "$k" "$e" "${c:-000}" "${r:--}" "$m"
}
vpsp_reach 0 =https https://example.com/apt/dists/stable/InRelease https://example.com/apt/dists/stable/Release > "$D/0" &
vpsp_reach 1 =https 'https://example.com/a b'\''s.deb' > "$D/1" &
wait
for f in 0 1; do cat "$D/$f" 2>/dev/null; done
rm -rf -- "$D"
fi