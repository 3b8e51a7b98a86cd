#!/bin/sh
# For a development machine where xfreerdp and Xvfb may not be installed (CI installs the
# Debian packages freerdp2-x11 and xvfb instead): downloads the missing .debs with
# `apt-get download` and unpacks them into a tree, without installing anything. The
# end-to-end test uses the tree when VPSPROV_RDP_CLIENT_ROOT points at it, overlaid on
# /usr in a private mount namespace (see rdp-login.ts).
#   sh test/support/fetch-rdp-client.sh [/var/cache/vps-provision/rdp-client]
set -eu
dest=${1:-/var/cache/vps-provision/rdp-client}
mkdir -p "$dest/debs" "$dest/root"
cd "$dest/debs"
pkgs=$(apt-get install -s --no-install-recommends freerdp2-x11 xvfb 2>/dev/null | awk '/^Inst /{print $2}')
[ -n "$pkgs" ] || { echo "nothing to fetch: freerdp2-x11 and xvfb are installed" >&2; exit 0; }
# shellcheck disable=SC2086
apt-get download $pkgs >/dev/null
for f in ./*.deb; do dpkg-deb -x "$f" "$dest/root"; done
echo "$dest/root"
