#!/usr/bin/env bash
# Builds, once, the Debian root filesystem that fake droplets boot from, and caches it as
# a zstd tarball: /var/cache/vps-provision/rootfs-<release>-<key>.tar.zst.
#   build-rootfs.sh [trixie|bookworm]      (default trixie: Debian 13; bookworm: Debian 12)
# <key> is a hash of this script and the release (its inputs), so editing the script builds
# new images. If the tarball exists, nothing is done. The tarball's path is the last line on
# stdout; progress goes to stderr.
#
# Environment (all optional):
#   VPSPROV_CACHE_DIR  where tarballs are cached     (default /var/cache/vps-provision)
#   VPSPROV_MIRROR     Debian mirror for debootstrap (default http://deb.debian.org/debian)
#   VPSPROV_APT_PROXY  an http proxy for every download (the droplets' apt-cacher-ng,
#                      http://10.201.0.1:3149): not an input, the image is the same without it
#
# Needs (Debian packages): debootstrap zstd util-linux (flock, unshare) coreutils tar.
set -euo pipefail

CACHE_DIR=${VPSPROV_CACHE_DIR:-/var/cache/vps-provision}
MIRROR=${VPSPROV_MIRROR:-http://deb.debian.org/debian}
SUITE=${1:-trixie}
case $SUITE in trixie|bookworm) ;; *) echo "[build-rootfs] error: release must be trixie or bookworm, not $SUITE" >&2; exit 2;; esac
PROXY=${VPSPROV_APT_PROXY:-}
# What a DigitalOcean Debian 12 / 13 image has that the provisioning phases rely on:
# systemd as init, sshd (with the SFTP subsystem the controller uses), sudo, TLS roots,
# curl + gnupg (apt_repo keys), ip, ps, dbus + logind (desktop sessions), /etc/services.
PACKAGES=(
  openssh-server openssh-sftp-server sudo ca-certificates curl gnupg iproute2 procps
  systemd systemd-sysv dbus libpam-systemd netbase tzdata less
)

script_path=$(readlink -f "${BASH_SOURCE[0]}")
key=$( { cat "$script_path"; echo "release=$SUITE"; } | sha256sum | cut -c1-16)
tarball="$CACHE_DIR/rootfs-$SUITE-$key.tar.zst"
build="$CACHE_DIR/build-$SUITE-$key"

log() { printf '[build-rootfs] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Fast path: already built.
if [[ -f $tarball ]]; then
  echo "$tarball"
  exit 0
fi
# asked only whether it is built (the caller brings up the apt cache before a build)
[[ -z ${VPSPROV_ONLY_CACHED:-} ]] || exit 3

[[ $(id -u) -eq 0 ]] || die "must run as root (debootstrap, chroot, mount)"
for tool in debootstrap zstd flock unshare chroot tar; do
  command -v "$tool" >/dev/null || die "missing tool: $tool"
done

# Run the build in a private mount namespace: whatever happens to this process, the
# mounts made for the chroot vanish with it and never leak onto the host. The trap
# below still unmounts them, so the tree can be deleted safely right after.
if [[ -z ${VPSPROV_IN_MOUNT_NS:-} ]]; then
  VPSPROV_IN_MOUNT_NS=1 exec unshare --mount --propagation private -- bash "$script_path" "$SUITE"
fi

mkdir -p "$CACHE_DIR"

# One build at a time (two test processes may ask at once); bounded wait.
exec 9>"$CACHE_DIR/build.lock"
flock -w 1800 9 || die "another build still holds $CACHE_DIR/build.lock after 30 min"
if [[ -f $tarball ]]; then
  log "built meanwhile by another process"
  echo "$tarball"
  exit 0
fi

# Mount points strictly under $1, deepest first.
mounts_under() {
  awk -v root="$1/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

unmount_all() {
  local dir=$1 mp
  for mp in $(mounts_under "$dir"); do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "could not unmount $mp"
  done
}

# Deleting a tree with something mounted inside could delete the host's files:
# refuse unless nothing is mounted there; never cross into another file system.
remove_tree() {
  local dir=$1
  [[ -e $dir ]] || return 0
  unmount_all "$dir"
  if [[ -n $(mounts_under "$dir") ]]; then
    die "refusing to delete $dir: still mounted: $(mounts_under "$dir" | tr '\n' ' ')"
  fi
  rm -rf --one-file-system "$dir"
}

cleanup() {
  local rc=$?
  unmount_all "$build"
  rm -f "$tarball.partial"
  if [[ $rc -ne 0 ]]; then log "failed (exit $rc); partial tree left in $build"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECONDS=0
remove_tree "$build"   # leftover of an interrupted build
mkdir -p "$build" "$CACHE_DIR/debootstrap-debs"

log "debootstrap $SUITE (minbase) from $MIRROR${PROXY:+ through $PROXY}"
http_proxy=$PROXY debootstrap --variant=minbase --cache-dir="$CACHE_DIR/debootstrap-debs" \
  "$SUITE" "$build" "$MIRROR" >&2
log "debootstrap done in ${SECONDS}s"

# Mount what maintainer scripts need. /run is a fresh tmpfs, not the host's /run: the
# host's /run is on the root file system, so a bind of it could not be told apart from
# the tree by rm --one-file-system.
mount -t proc proc "$build/proc"
mount -t sysfs sysfs "$build/sys"
mount --bind /dev "$build/dev"
mount --bind /dev/pts "$build/dev/pts"
mount -t tmpfs tmpfs "$build/run"

in_root() { chroot "$build" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 ${PROXY:+http_proxy=$PROXY} "$@"; }

# Maintainer scripts must not start daemons while we install (they would run on the host).
cat >"$build/usr/sbin/policy-rc.d" <<'EOF'
#!/bin/sh
exit 101
EOF
chmod 0755 "$build/usr/sbin/policy-rc.d"

# Sources as on a Debian cloud image (deb822), security updates included.
rm -f "$build/etc/apt/sources.list"
cat >"$build/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF

# dpkg fsyncs every file by default; a throwaway droplet does not need that (~10 % faster).
echo force-unsafe-io >"$build/etc/dpkg/dpkg.cfg.d/vpsprov-unsafe-io"
cp /etc/resolv.conf "$build/etc/resolv.conf"

log "installing: ${PACKAGES[*]}"
in_root apt-get -q update >&2
in_root apt-get -q -y --no-install-recommends install "${PACKAGES[@]}" >&2
in_root apt-get -q -y clean >&2
log "packages done at ${SECONDS}s"

# Per-droplet identity is made at droplet creation: no host keys, no machine id.
rm -f "$build"/etc/ssh/ssh_host_*
: >"$build/etc/machine-id"
rm -f "$build/var/lib/dbus/machine-id"
rm -f "$build/usr/sbin/policy-rc.d"
rm -rf "$build"/var/lib/apt/lists/* "$build"/var/cache/apt/*.bin "$build"/var/log/*.log
: >"$build/etc/resolv.conf"
echo localhost >"$build/etc/hostname"

unmount_all "$build"
[[ -z $(mounts_under "$build") ]] || die "mounts remain under $build"

log "packing $tarball"
tar --numeric-owner --xattrs --xattrs-include='*' --acls --one-file-system \
  -C "$build" -cf - . | zstd -q -T0 -6 -o "$tarball.partial"
mv "$tarball.partial" "$tarball"
remove_tree "$build"
# Images of earlier versions of this script go once they are a day old (another work
# tree may still be using a recent one).
find "$CACHE_DIR" -maxdepth 1 -name "rootfs-$SUITE-*.tar.zst" ! -name "rootfs-$SUITE-$key.tar.zst" -mtime +0 -delete
# (names of the one-release days: rootfs-<key>.tar.zst)
find "$CACHE_DIR" -maxdepth 1 -name 'rootfs-????????????????.tar.zst' -mtime +0 -delete
log "done in ${SECONDS}s ($(du -h "$tarball" | cut -f1))"
echo "$tarball"
