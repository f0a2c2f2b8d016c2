#!/usr/bin/env bash
# A bare Debian to boot as a lab machine (systemd, sshd, sudo and nothing of the estate), and a
# local apt repository holding every package the rendered steps install, with what they depend
# on: both made from Debian's archive before the lab starts, since nothing inside the lab reaches
# outside. Kept in CACHE under a key of the suite, this file and the package list, so a second
# run on the same machine starts at once.
#   usage: sudo test/lab/machines/image.sh CACHE SUITE PACKAGES_FILE
#   prints the image's folder (root/ is the machine) and the repository's (Packages.gz, the .debs)
set -Eeuo pipefail
cache=${1:?usage: image.sh CACHE SUITE PACKAGES_FILE}
suite=${2:?usage: image.sh CACHE SUITE PACKAGES_FILE}
packages_file=${3:?usage: image.sh CACHE SUITE PACKAGES_FILE}
# The machine's own: an init, a bus, sshd and sudo as any server has, and what stands in for the
# kernel's WireGuard module (wireguard-go, which wg-quick falls back to) and runs the lab's
# stand-ins for what the lab cannot have (libstdc++6 for node).
base=systemd,systemd-sysv,dbus,iproute2,openssh-server,sudo,wireguard-go,libstdc++6
# The mirror this machine's apt uses, else Debian's own.
mirror=${INFERNUS_LAB_MIRROR:-$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
  sed -n 's/^URIs: *\(http[^ ]*\/debian\)$/\1/p; s/^deb \(http[^ ]*\/debian\) .*/\1/p' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mapfile -t packages < <(grep -v '^$' "$packages_file")

for tool in debootstrap dpkg-scanpackages systemd-nspawn; do
  command -v "$tool" >/dev/null || {
    echo "image.sh: $tool is missing; install it: apt-get install debootstrap dpkg-dev systemd-container" >&2
    exit 1
  }
done
# The bare machine is kept per suite (and this file); the repository per package list beside it.
key=$({ echo "$suite $base"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
image=$cache/$suite-$key
repo=$image/repo-$(printf '%s\n' "${packages[@]}" | sha256sum | cut -c1-16)
if [[ -f $image/ready && -f $repo/Packages.gz ]]; then
  echo "$image $repo"
  exit 0
fi
mkdir -p "$image"
root=$image/root
if [[ ! -f $image/ready ]]; then
  rm -rf "$root"
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase --include="$base" "$suite" "$root" "$mirror" >"$image/debootstrap.log" 2>&1 || {
    tail -20 "$image/debootstrap.log" >&2
    exit 1
  }
  rm -rf "$root"/var/lib/apt/lists/*
  echo "deb [trusted=yes] file:/var/lib/infernus-lab/repo ./" >"$root/etc/apt/sources.list"
  trap - EXIT
  touch "$image/ready"
fi
# Every package the steps install, downloaded (not installed) with what the bare machine lacks,
# through the archive; the machine is left as it was.
partial=$repo.partial
rm -rf "$partial"
trap 'rm -rf "$partial"; rm -f "$root/etc/resolv.conf" "$root/etc/apt/sources.list.d/infernus-lab-archive.list"; rm -rf "$root"/var/lib/apt/lists/*; chroot "$root" apt-get clean' EXIT
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror $suite main" >"$root/etc/apt/sources.list.d/infernus-lab-archive.list"
chroot "$root" apt-get -o Dir::Etc::SourceList=/dev/null update -qq
chroot "$root" apt-get -o Dir::Etc::SourceList=/dev/null install -qq -y --download-only --no-install-recommends "${packages[@]}" >/dev/null
mkdir -p "$partial"
mv "$root"/var/cache/apt/archives/*.deb "$partial/"
(cd "$partial" && dpkg-scanpackages --multiversion . /dev/null 2>/dev/null | gzip -9 >Packages.gz)
mv "$partial" "$repo"
echo "$image $repo"
