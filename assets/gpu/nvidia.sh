#!/usr/bin/env bash
# Installs the NVIDIA driver from Ubuntu's archive: Canonical's signed precompiled kernel modules
# (no DKMS, fine with Secure Boot) and the userspace of branch $BRANCH, held so no upgrade moves
# them. Reboots, detached, only when the running kernel does not have this driver loaded; the
# nvidia-verify step checks the result after the host is back.
#   usage: sudo BRANCH=580 FLAVOUR=open REBOOT_MARKER=/var/lib/infernus/reboot-pending ./nvidia.sh
set -Eeuo pipefail
# shellcheck source=assets/lib.sh
[[ -v INFERNUS_LIB ]] || source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
: "${BRANCH:?set BRANCH, e.g. 580} ${FLAVOUR:?set FLAVOUR: open, server-open, proprietary or server} ${REBOOT_MARKER:?}"
need_root

if grep -rqs developer.download.nvidia.com "$INFERNUS_ROOT/etc/apt/sources.list" "$INFERNUS_ROOT/etc/apt/sources.list.d/"; then
  refuse "NVIDIA's CUDA repository is configured in /etc/apt; its drivers must not mix with Ubuntu's: remove it (and its cuda-drivers packages), then run again"
fi

server='' open=''
[[ $FLAVOUR == server* ]] && server=-server
[[ $FLAVOUR == *open ]] && open=-open
kernel_flavour=generic
if dpkg-query -W -f='${Status}' linux-generic-hwe-24.04 2>/dev/null | grep -q 'install ok installed'; then
  kernel_flavour=generic-hwe-24.04
fi
wanted=(
  "linux-modules-nvidia-$BRANCH$server$open-$kernel_flavour"
  "nvidia-headless-no-dkms-$BRANCH$server$open"
  "nvidia-utils-$BRANCH$server"
  "nvidia-compute-utils-$BRANCH$server"
)

# Another branch may be held from before: release it so apt can replace it with this one.
mapfile -t held < <(apt-mark showhold | grep -E '^(nvidia-|libnvidia-|linux-modules-nvidia-)' || true)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  ((${#held[@]} == 0)) || apt-mark unhold "${held[@]}" >/dev/null
  apt_install "${wanted[@]}"
fi
apt-mark hold "${wanted[@]}" >/dev/null

# nouveau claims the card first unless blacklisted, also in the initramfs.
if ((${#missing[@]} > 0)) || lsmod | grep -q '^nouveau '; then
  update-initramfs -u
fi

installed=$(modinfo -F version nvidia 2>/dev/null || true)
loaded=$(cat "$INFERNUS_ROOT/sys/module/nvidia/version" 2>/dev/null || true)
if [[ -z $loaded || $loaded != "$installed" ]] || lsmod | grep -q '^nouveau '; then
  mkdir -p "$(dirname "$INFERNUS_ROOT$REBOOT_MARKER")"
  cat /proc/sys/kernel/random/boot_id >"$INFERNUS_ROOT$REBOOT_MARKER"
  systemd-run --quiet --unit=infernus-reboot --on-active=5 systemctl reboot
  log "driver ${installed:-?} installed, ${loaded:-none} loaded: rebooting in 5 s"
else
  rm -f "$INFERNUS_ROOT$REBOOT_MARKER"
  log "driver $installed loaded; no reboot needed"
fi
