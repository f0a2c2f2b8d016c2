#!/usr/bin/env bats
# assets/gpu/*.sh against stubbed apt, systemd, lspci, mokutil, modinfo and an nvidia-smi that
# answers with real output captured on an H100 with driver 580 (../shared/reference/nvidia-smi).
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  export REFERENCE=$BATS_TEST_DIRNAME/../../../shared/reference/nvidia-smi/h100-driver-580
  [ -f "$REFERENCE/query-noheader-nounits.csv" ]
  export H100='h100-80gb-hbm3|H100 80GB HBM3|9.0|80'
  export BLACKWELL='rtx-pro-6000-blackwell-workstation|RTX PRO 6000 Blackwell Workstation Edition|12.0|96'
  export REBOOT_MARKER=/var/lib/infernus/reboot-pending REPORT=/var/lib/infernus/reports/nvidia-verify
  stub hostname 'echo gpu1'
  stub dpkg-query 'for p in $INSTALLED; do [[ ${!#} == "$p" ]] && echo "install ok installed"; done; exit 0'
  stub apt-get
  stub apt-mark 'if [[ $1 == showhold ]]; then printf "%s\n" $HELD; fi'
  stub systemctl
  stub systemd-run
  stub update-initramfs
  stub lsmod 'echo "Module Size Used by"; [[ -n ${NOUVEAU:-} ]] && echo "nouveau 1 0"; true'
  stub lspci 'if [[ $* == *10de:* ]]; then for ((i = 0; i < ${NVIDIA_PCI:-1}; i++)); do echo "0$i:00.0 0302: 10de:2330 (rev a1)"; done; fi; true'
  stub mokutil 'echo "SecureBoot enabled"'
  stub nvidia-smi 'cat "$REFERENCE/query-noheader-nounits.csv"'
  stub modinfo 'if [[ $* == *license* ]]; then echo "${LICENSE:-Dual MIT/GPL}"; else echo "${INSTALLED_VERSION:-580.159.04}"; fi'
  put /etc/os-release $'ID=ubuntu\nVERSION_ID="24.04"\n'
  put /proc/meminfo $'MemTotal:       131072000 kB\n'
  mkdir -p "$INFERNUS_ROOT/sys/devices/system/node/node0"
  put /dev/disk/by-id/nvme-A ""
  stub_block_devices
  # zpool lists the pools named in $IMPORTED; `zpool list -H -o name POOL` fails for any other.
  stub zpool 'for p in ${IMPORTED:-}; do [[ ${!#} == name || ${!#} == "$p" ]] && echo "$p" && found=1; done; [[ -n ${found:-} ]]'
  put /proc/driver/nvidia/version "$(head -1 "$REFERENCE/driver.txt")"
}

assets=$BATS_TEST_DIRNAME/../../assets/gpu

@test "preflight passes when the machine is as declared, naming what it saw" {
  GPUS=$H100 DISKS=/dev/disk/by-id/nvme-A MEMORY_GIB=128 MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"Secure Boot is on"* ]]
  [[ $output == *"GPU 0: NVIDIA H100 80GB HBM3 at 00000000:00:06.0, driver 580.159.04, compute capability 9.0, 81559 MiB"* ]]
  [[ $output == *"gpu1 matches the stack file"* ]]
  not_called apt-get
  not_called systemctl
}

@test "preflight lists every mismatch at once and changes nothing" {
  put /etc/os-release $'ID=ubuntu\nVERSION_ID="22.04"\n'
  GPUS=$BLACKWELL DISKS="/dev/disk/by-id/nvme-A /dev/disk/by-id/nvme-missing" MEMORY_GIB=256 NUMA_NODES=2 MIN_FREE_GIB=100000 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: refused: gpu1 does not match the stack file:"* ]]
  [[ $output == *"the OS is ubuntu 22.04; a GPU server runs Ubuntu 24.04, whose archive carries Canonical's signed NVIDIA drivers"* ]]
  [[ $output == *"GiB free, the driver and packages need 100000 GiB"* ]]
  [[ $output == *"GPU 0: declared rtx-pro-6000-blackwell-workstation (RTX PRO 6000 Blackwell Workstation Edition), nvidia-smi says NVIDIA H100 80GB HBM3"* ]]
  [[ $output == *"reports compute capability 9.0, expected 12.0"* ]]
  [[ $output == *"has 81559 MiB, expected about 96 GiB"* ]]
  [[ $output == *"memoryGiB is 256, the kernel sees 125 GiB"* ]]
  [[ $output == *"numaNodes is 2, the machine has 1 NUMA node(s)"* ]]
  [[ $output == *"/dev/disk/by-id/nvme-missing is not there"* ]]
  not_called apt-get
}

@test "preflight says when a declared card is not on the PCI bus" {
  stub nvidia-smi 'exit 9'
  NVIDIA_PCI=0 GPUS=$BLACKWELL MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"1 NVIDIA GPU(s) declared, the PCI bus shows 0: check the card is seated and powered"* ]]
  [[ $output == *"no working nvidia-smi yet"* ]]
}

# The OS disk as Ubuntu's installer leaves it (/boot/efi, /, swap), and a free 2 TB NVMe.
os_and_free_disks() {
  block_device nvme-1TB nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p1 vfat - /boot/efi" "/dev/nvme0n1p2 ext4 - /" "/dev/nvme0n1p3 swap - [SWAP]"
  block_device nvme-2TB nvme1n1 "/dev/nvme1n1 - - -"
}

@test "preflight refuses a pool member that holds /, naming the disk, what is mounted from it and the fix" {
  os_and_free_disks
  GPUS=$H100 POOLS='tank|mirror|/dev/disk/by-id/nvme-2TB,/dev/disk/by-id/nvme-1TB|' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: refused: gpu1 does not match the stack file:"* ]]
  [[ $output == *"  /dev/disk/by-id/nvme-1TB (/dev/nvme0n1) is in use by the running system: /boot/efi on /dev/nvme0n1p1, / on /dev/nvme0n1p2, swap on /dev/nvme0n1p3; pick another disk for pool tank in the stack file: the OS disk is never a pool member, and wipe: true does not override this"* ]]
  [[ $output != *"nvme-2TB"* ]]
}

@test "preflight refuses the disk that holds / with wipe: true as well" {
  os_and_free_disks
  GPUS=$H100 POOLS='tank|mirror|/dev/disk/by-id/nvme-1TB|/dev/disk/by-id/nvme-1TB' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-1TB (/dev/nvme0n1) is in use by the running system: /boot/efi on"* ]]
}

@test "preflight refuses a disk whose only mount is /boot/efi, with wipe: true" {
  block_device nvme-1TB nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p1 vfat - /boot/efi" "/dev/nvme0n1p2 ext4 - -"
  GPUS=$H100 POOLS='tank|mirror|/dev/disk/by-id/nvme-1TB|/dev/disk/by-id/nvme-1TB' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-1TB (/dev/nvme0n1) is in use by the running system: /boot/efi on /dev/nvme0n1p1; pick another disk"* ]]
}

@test "preflight refuses a disk that holds active swap, with wipe: true" {
  block_device ata-HDD sda "/dev/sda - - -" "/dev/sda1 swap - -"
  SWAPS=/dev/sda1 GPUS=$H100 POOLS='vault|mirror|/dev/disk/by-id/ata-HDD|/dev/disk/by-id/ata-HDD' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/ata-HDD (/dev/sda) is in use by the running system: swap on /dev/sda1; pick another disk for pool vault"* ]]
}

@test "preflight passes pools on free disks beside the OS disk" {
  os_and_free_disks
  GPUS=$H100 DISKS=/dev/disk/by-id/nvme-1TB POOLS='tank|mirror|/dev/disk/by-id/nvme-2TB|' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"gpu1 matches the stack file"* ]]
}

@test "preflight passes the disks of a pool already imported under its name" {
  block_device nvme-2TB nvme1n1 "/dev/nvme1n1 - - -" "/dev/nvme1n1p1 zfs_member tank -" "/dev/nvme1n1p9 - - -"
  block_device ata-HDD sda "/dev/sda - - -" "/dev/sda1 zfs_member vault -"
  IMPORTED="tank vault" GPUS=$H100 POOLS=$'tank|mirror|/dev/disk/by-id/nvme-2TB|\nvault|mirror|/dev/disk/by-id/ata-HDD|' MIN_FREE_GIB=1 run bash "$assets/preflight.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"gpu1 matches the stack file"* ]]
}

@test "the driver step installs the open driver from Ubuntu's archive, holds it, and reboots" {
  stub modinfo 'echo 580.159.04'
  BRANCH=580 FLAVOUR=open run bash "$assets/nvidia.sh"
  [ "$status" -eq 0 ]
  called "apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -qq --no-install-recommends linux-modules-nvidia-580-open-generic nvidia-headless-no-dkms-580-open nvidia-utils-580 nvidia-compute-utils-580"
  called "apt-mark hold linux-modules-nvidia-580-open-generic nvidia-headless-no-dkms-580-open nvidia-utils-580 nvidia-compute-utils-580"
  called "update-initramfs -u"
  called "systemd-run --quiet --unit=infernus-reboot --on-active=5 systemctl reboot"
  [ -s "$INFERNUS_ROOT$REBOOT_MARKER" ]
}

@test "the driver step changes nothing when the driver is installed and loaded" {
  put /sys/module/nvidia/version "580.159.04"
  INSTALLED="linux-modules-nvidia-580-open-generic nvidia-headless-no-dkms-580-open nvidia-utils-580 nvidia-compute-utils-580" \
    BRANCH=580 FLAVOUR=open run bash "$assets/nvidia.sh"
  [ "$status" -eq 0 ]
  [[ $output == *"driver 580.159.04 loaded; no reboot needed"* ]]
  not_called "apt-get"
  not_called "update-initramfs"
  not_called "systemd-run"
}

@test "the server flavour and the HWE kernel pick their packages" {
  INSTALLED="linux-generic-hwe-24.04" BRANCH=580 FLAVOUR=server-open run bash "$assets/nvidia.sh"
  [ "$status" -eq 0 ]
  called "apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -qq --no-install-recommends linux-modules-nvidia-580-server-open-generic-hwe-24.04 nvidia-headless-no-dkms-580-server-open nvidia-utils-580-server nvidia-compute-utils-580-server"
}

@test "a branch change releases the old branch's hold first" {
  HELD="nvidia-utils-570 libnvidia-compute-570" BRANCH=580 FLAVOUR=open run bash "$assets/nvidia.sh"
  [ "$status" -eq 0 ]
  [ "$(grep -n 'apt-mark unhold nvidia-utils-570 libnvidia-compute-570' "$CALLS" | cut -d: -f1)" -lt "$(grep -n 'apt-get .* install' "$CALLS" | cut -d: -f1)" ]
}

@test "the driver step refuses to mix with NVIDIA's CUDA repository" {
  put /etc/apt/sources.list.d/cuda-ubuntu2404-x86_64.list "deb https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2404/x86_64/ /"
  BRANCH=580 FLAVOUR=open run bash "$assets/nvidia.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"NVIDIA's CUDA repository is configured in /etc/apt; its drivers must not mix with Ubuntu's: remove it"* ]]
  not_called "apt-get"
}

@test "the check refuses while the host has not rebooted yet" {
  put "$REBOOT_MARKER" "$(cat /proc/sys/kernel/random/boot_id)"
  GPUS=$H100 run bash "$assets/nvidia-verify.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"gpu1 has not rebooted since the driver was installed"* ]]
}

@test "the check passes after the reboot and prints the inventory from real nvidia-smi output" {
  put "$REBOOT_MARKER" "a-boot-before"
  GPUS=$H100 run bash "$assets/nvidia-verify.sh"
  [ "$status" -eq 0 ]
  [[ $output == *'INFERNUS_GPU_INVENTORY [{"index":0,"name":"NVIDIA H100 80GB HBM3","bus":"00000000:00:06.0","driver":"580.159.04","computeCapability":"9.0","memoryMiB":81559}]'* ]]
  called "systemctl enable --quiet --now nvidia-persistenced"
  [ ! -e "$INFERNUS_ROOT$REBOOT_MARKER" ]
  # The copy a connection-only update prints again: the inventory line alone, readable by anyone.
  [ "$(cat "$INFERNUS_ROOT$REPORT")" = "$(grep '^INFERNUS_GPU_INVENTORY ' <<<"$output")" ]
  [ "$(stat -c %a "$INFERNUS_ROOT$REPORT")" = 644 ]
}

@test "the check refuses the proprietary module and a wrong license" {
  put /proc/driver/nvidia/version "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04"
  GPUS=$H100 run bash "$assets/nvidia-verify.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"the proprietary nvidia module is loaded, this card needs the open one"* ]]
  put /proc/driver/nvidia/version "$(head -1 "$REFERENCE/driver.txt")"
  LICENSE=NVIDIA GPUS=$H100 run bash "$assets/nvidia-verify.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"license is 'NVIDIA', not 'Dual MIT/GPL'"* ]]
}

@test "the check refuses when the driver shows other GPUs than declared" {
  GPUS=$BLACKWELL run bash "$assets/nvidia-verify.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"the driver does not show the declared GPUs"* ]]
  [[ $output == *"nvidia-smi says NVIDIA H100 80GB HBM3"* ]]
}

@test "the power unit is enabled and applied, or removed when no limit is declared" {
  put /etc/systemd/system/infernus-gpu-power.service "[Service]"
  UNIT=infernus-gpu-power.service LIMITS=1 run bash "$assets/gpu-power.sh"
  [ "$status" -eq 0 ]
  called "systemctl restart infernus-gpu-power.service"
  UNIT=infernus-gpu-power.service LIMITS=0 run bash "$assets/gpu-power.sh"
  [ "$status" -eq 0 ]
  called "systemctl disable --quiet infernus-gpu-power.service"
  [ ! -e "$INFERNUS_ROOT/etc/systemd/system/infernus-gpu-power.service" ]
}

@test "the base step sets the time zone only when it differs, and refuses an unknown one" {
  stub timedatectl 'if [[ $1 == show ]]; then echo Etc/UTC; fi'
  stub sysctl
  put /etc/sysctl.d/60-infernus-gpu.conf "vm.swappiness = 10"
  TIMEZONE=Asia/Bangkok SYSCTL=/etc/sysctl.d/60-infernus-gpu.conf run bash "$BATS_TEST_DIRNAME/../../assets/gpu/base.sh"
  [ "$status" -eq 0 ]
  called "timedatectl set-timezone Asia/Bangkok"
  called "timedatectl set-ntp true"
  called "sysctl -q -p $INFERNUS_ROOT/etc/sysctl.d/60-infernus-gpu.conf"
  TIMEZONE=Etc/UTC SYSCTL=/etc/sysctl.d/60-infernus-gpu.conf run bash "$BATS_TEST_DIRNAME/../../assets/gpu/base.sh"
  not_called "set-timezone Etc/UTC"
  TIMEZONE=Mars/Olympus SYSCTL=/etc/sysctl.d/60-infernus-gpu.conf run bash "$BATS_TEST_DIRNAME/../../assets/gpu/base.sh"
  [ "$status" -eq 1 ]
  [[ $output == *"time zone Mars/Olympus is unknown here"* ]]
}
