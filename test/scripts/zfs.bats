#!/usr/bin/env bats
# assets/storage/zfs.sh against stubbed zpool, zfs, wipefs and blkid that keep a little state.
# shellcheck disable=SC2016 # stub bodies are single-quoted: they expand when the stub runs

setup() {
  load stubs
  setup_stubs
  export ZSTATE=$BATS_TEST_TMPDIR/zstate
  mkdir -p "$ZSTATE/pools" "$ZSTATE/datasets" "$ZSTATE/importable" "$ZSTATE/signatures"
  stub dpkg-query 'echo "install ok installed"'
  stub apt-get
  stub systemctl
  stub update-initramfs
  # zpool: list answers for created/imported pools; import lists or imports the importable ones.
  stub zpool 'case $1 in
    list) if [[ ${!#} == name ]]; then ls "$ZSTATE/pools"; exit 0; fi
      [[ -e $ZSTATE/pools/${!#} ]] || exit 1; if [[ $* == *health* ]]; then echo ONLINE; else echo "${!#}"; fi ;;
    import) if [[ $* == *-N* ]]; then touch "$ZSTATE/pools/${!#}"; else for p in "$ZSTATE"/importable/*; do [[ -e $p ]] && echo "   pool: ${p##*/}"; done; fi ;;
    create) for a; do [[ $a == create || $a == -* || $a == *=* ]] && continue; touch "$ZSTATE/pools/$a"; break; done ;;
  esac; exit 0'
  stub zfs 'case $1 in
    list) [[ -e $ZSTATE/datasets/${!#//\//_} ]] ;;
    create) touch "$ZSTATE/datasets/${!#//\//_}" ;;
    get) echo "${ZFS_GET:-}" ;;
  esac'
  stub blkid 'f=$ZSTATE/signatures/${!###*/}; [[ -e $f && $* == *"-s TYPE"* ]] && cat "$f"; exit 0'
  stub wipefs 'rm -f "$ZSTATE/signatures/${!###*/}"'
  stub_block_devices
  put /dev/disk/by-id/nvme-A ""
  put /dev/disk/by-id/nvme-B ""
  export POOLS='tank|mirror|/dev/disk/by-id/nvme-A,/dev/disk/by-id/nvme-B|' DATASETS=$'tank/models|/srv/models|recordsize=1M\ntank/rag|/srv/rag|recordsize=128K' ARC_MAX_BYTES=34359738368
}

script=$BATS_TEST_DIRNAME/../../assets/storage/zfs.sh

@test "creates a mirror on blank disks, with ashift 12 and lz4, then the datasets" {
  run bash "$script"
  [ "$status" -eq 0 ]
  called "zpool create -o ashift=12 -O compression=lz4 -O atime=off -O xattr=sa -O acltype=posixacl -O mountpoint=none tank mirror /dev/disk/by-id/nvme-A /dev/disk/by-id/nvme-B"
  called "zfs create -p -omountpoint=/srv/models -orecordsize=1M tank/models"
  called "zfs create -p -omountpoint=/srv/rag -orecordsize=128K tank/rag"
}

@test "imports a pool whose disks moved here, and creates nothing" {
  touch "$ZSTATE/importable/tank"
  run bash "$script"
  [ "$status" -eq 0 ]
  called "zpool import -d /dev/disk/by-id -N tank"
  not_called "zpool create"
  [[ $output == *"imported pool tank"* ]]
}

@test "refuses a disk that holds a filesystem, naming it and the fix" {
  echo ext4 >"$ZSTATE/signatures/nvme-B"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"pool tank was not created:"* ]]
  [[ $output == *"/dev/disk/by-id/nvme-B holds ext4; set wipe: true for it in the stack file to erase it"* ]]
  not_called "zpool create"
  not_called wipefs
}

@test "wipes a disk only where the stack file says wipe: true" {
  echo ext4 >"$ZSTATE/signatures/nvme-B"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-A,/dev/disk/by-id/nvme-B|/dev/disk/by-id/nvme-B' run bash "$script"
  [ "$status" -eq 0 ]
  called "wipefs --all --quiet /dev/disk/by-id/nvme-B"
  [[ $output == *"wiped /dev/disk/by-id/nvme-B, which held ext4 (wipe: true)"* ]]
  grep -q "zpool create .* tank mirror" "$CALLS"
}

@test "wipes nothing while another disk of the pool is refused" {
  echo ext4 >"$ZSTATE/signatures/nvme-A"
  echo xfs >"$ZSTATE/signatures/nvme-B"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-A,/dev/disk/by-id/nvme-B|/dev/disk/by-id/nvme-A' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-B holds xfs; set wipe: true"* ]]
  not_called wipefs
  not_called "zpool create"
}

# The OS disk as Ubuntu's installer leaves it: an EFI partition, / and swap, a GPT.
os_disk() {
  block_device nvme-OS nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p1 vfat - /boot/efi" "/dev/nvme0n1p2 ext4 - /" "/dev/nvme0n1p3 swap - [SWAP]"
  echo gpt >"$ZSTATE/signatures/nvme-OS"
}

@test "refuses a pool on the disk that holds /, naming it, what is mounted from it and the fix" {
  os_disk
  POOLS='tank|mirror|/dev/disk/by-id/nvme-OS,/dev/disk/by-id/nvme-B|' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"infernus: refused: ZFS:"$'\n'"  pool tank was not created:"* ]]
  [[ $output == *"/dev/disk/by-id/nvme-OS (/dev/nvme0n1) is in use by the running system: /boot/efi on /dev/nvme0n1p1, / on /dev/nvme0n1p2, swap on /dev/nvme0n1p3; pick another disk for pool tank in the stack file: the OS disk is never a pool member, and wipe: true does not override this"* ]]
  not_called "zpool create"
}

@test "refuses the disk that holds / even with wipe: true, and wipes nothing" {
  os_disk
  echo ext4 >"$ZSTATE/signatures/nvme-B"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-OS,/dev/disk/by-id/nvme-B|/dev/disk/by-id/nvme-OS /dev/disk/by-id/nvme-B' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-OS (/dev/nvme0n1) is in use by the running system: /boot/efi on"* ]]
  not_called wipefs
  not_called "zpool create"
}

@test "refuses a disk whose only mount is /boot/efi, with wipe: true" {
  block_device nvme-OS nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p1 vfat - /boot/efi" "/dev/nvme0n1p2 ext4 - -"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-OS|/dev/disk/by-id/nvme-OS' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-OS (/dev/nvme0n1) is in use by the running system: /boot/efi on /dev/nvme0n1p1; pick another disk"* ]]
  not_called wipefs
}

@test "refuses a disk that holds active swap, with wipe: true" {
  block_device ata-HDD sda "/dev/sda - - -" "/dev/sda1 swap - -"
  SWAPS=/dev/sda1 POOLS='vault|mirror|/dev/disk/by-id/ata-HDD|/dev/disk/by-id/ata-HDD' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/ata-HDD (/dev/sda) is in use by the running system: swap on /dev/sda1; pick another disk for pool vault"* ]]
  not_called wipefs
}

@test "refuses a disk under what is mounted from LUKS and LVM on its partitions" {
  block_device nvme-OS nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p3 crypto_LUKS - -" "/dev/mapper/dm_crypt-0 LVM2_member - -" \
    "/dev/mapper/ubuntu--vg-ubuntu--lv ext4 - /,/var/snap/firefox/common/host-hunspell" "/dev/mapper/ubuntu--vg-swap swap - [SWAP]"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-OS|/dev/disk/by-id/nvme-OS' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"is in use by the running system: / on /dev/mapper/ubuntu--vg-ubuntu--lv, /var/snap/firefox/common/host-hunspell on /dev/mapper/ubuntu--vg-ubuntu--lv, swap on /dev/mapper/ubuntu--vg-swap;"* ]]
  not_called wipefs
}

@test "refuses a disk of another imported pool (ZFS on root)" {
  touch "$ZSTATE/pools/rpool"
  block_device nvme-OS nvme0n1 "/dev/nvme0n1 - - -" "/dev/nvme0n1p1 vfat - -" "/dev/nvme0n1p4 zfs_member rpool -"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-OS|/dev/disk/by-id/nvme-OS' run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-OS (/dev/nvme0n1) is in use by the running system: pool rpool on /dev/nvme0n1p4;"* ]]
  not_called wipefs
}

@test "creates the pool on a free disk beside the OS disk" {
  os_disk
  block_device nvme-2TB nvme1n1 "/dev/nvme1n1 - - -"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-2TB|' run bash "$script"
  [ "$status" -eq 0 ]
  called "zpool create -o ashift=12 -O compression=lz4 -O atime=off -O xattr=sa -O acltype=posixacl -O mountpoint=none tank /dev/disk/by-id/nvme-2TB"
}

@test "keeps an imported pool whose own disks carry it" {
  touch "$ZSTATE/pools/tank"
  block_device nvme-2TB nvme1n1 "/dev/nvme1n1 - - -" "/dev/nvme1n1p1 zfs_member tank -"
  POOLS='tank|mirror|/dev/disk/by-id/nvme-2TB|' run bash "$script"
  [ "$status" -eq 0 ]
  [[ $output == *"pool tank is here (ONLINE)"* ]]
  not_called "zpool create"
}

@test "refuses a declared disk that is not there" {
  rm "$INFERNUS_ROOT/dev/disk/by-id/nvme-B"
  run bash "$script"
  [ "$status" -eq 1 ]
  [[ $output == *"/dev/disk/by-id/nvme-B is not there"* ]]
}

@test "a second run changes nothing" {
  bash "$script"
  : >"$CALLS"
  ZFS_GET=x run bash "$script"
  [ "$status" -eq 0 ]
  not_called "zpool create"
  not_called "zfs create"
  not_called "zpool import -d /dev/disk/by-id -N"
}

@test "brings a changed property back in line" {
  bash "$script"
  : >"$CALLS"
  ZFS_GET=128K run bash "$script"
  [ "$status" -eq 0 ]
  called "zfs set recordsize=1M tank/models"
  not_called "zfs set recordsize=128K"
}

@test "caps the ARC now and at boot" {
  put /sys/module/zfs/parameters/zfs_arc_max 0
  run bash "$script"
  [ "$status" -eq 0 ]
  [ "$(cat "$INFERNUS_ROOT/sys/module/zfs/parameters/zfs_arc_max")" = 34359738368 ]
  called "update-initramfs -u"
  [[ $output == *"ARC capped at 32 GiB"* ]]
}
