#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot the distro kernel under qemu (TCG) with a throwaway busybox initramfs
# that holds our out-of-tree module(s), run a guest shell script as the test,
# and exit 0 only if the script exited 0 and the kernel log stayed clean.
#
#   run-guest.sh --script GUEST_SCRIPT [--ko FILE.ko]... [--mod NAME]...
#                [--bin FILE]... [--dyn FILE]... [--file SRC:DEST]...
#                [--kver KV] [--timeout SECONDS] [--mem MB] [--smp N] [--cpu MODEL] [--nic SPEC]
#                [--log FILE] [--append "kernel cmdline"]
#                [--arch aarch64 --kroot DIR --busybox FILE [--sysroot DIR]]
#
# The guest script runs as `sh /test.sh` (busybox) with proc, sysfs, devtmpfs,
# debugfs and tmpfs mounted and lo up; `modprobe NAME` works for every --ko
# and for the distro modules industrialio, kfifo_buf, tls and the kTLS
# AES-GCM crypto (--mod adds more, with their dependencies). Its exit status
# travels back through isa-debug-exit on x86-64; an arm64 guest prints it
# and powers off (PSCI). Words NAME=VALUE of the kernel command line that
# the kernel does not know (--append FUZZ_SECONDS=5) reach the script as
# environment variables.
#
#   --ko FILE.ko     our module, to /lib/modules/KV/extra (modprobe-able)
#   --mod NAME       another distro module (+ deps) for the guest
#   --bin FILE       static binary, to /bin
#   --dyn FILE       dynamic host binary, at its own path, plus its ldd libs
#                    (with --sysroot: a binary of --arch, and its libraries
#                    from the sysroot)
#   --file SRC:DEST  any file or directory, to absolute DEST
#   --kver KV        default: newest /lib/modules/KV with build + vmlinuz
#   --timeout S      whole qemu run, default 600
#   --mem MB         default 1024;  --smp N  vCPUs, default 2
#   --cpu MODEL      qemu -cpu (default qemu64; e.g. Westmere adds AES-NI,
#                    PCLMUL and SSSE3, emulated by TCG, for crypto benchmarks)
#   --nic SPEC       qemu -nic SPEC (default none), e.g.
#                    user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:PORT-:30432
#                    (add --mod virtio_net --mod virtio_pci for the driver)
#   --log FILE       console log (default: temp file, kept on failure)
#   --append ARGS    extra kernel command line
#
# Another architecture's kernel, from its Debian package unpacked on this
# machine (tests/cross/run.sh fetches them):
#   --arch ARCH      x86_64 (default) or aarch64: qemu-system-aarch64
#                    -M virt, -cpu cortex-a57 unless --cpu, console ttyAMA0
#   --kroot DIR      where linux-image-KV is unpacked: DIR/boot/vmlinuz-KV and
#                    DIR/lib/modules/KV with a modules.dep (depmod -b DIR KV);
#                    default /
#   --busybox FILE   busybox-static for the guest (default /bin/busybox);
#                    one for another architecture lists its applets under
#                    qemu-user (qemu-ARCH).
#   --sysroot DIR    --dyn then takes binaries of ARCH: its libraries and the
#                    dynamic loader come from DIR (Debian packages unpacked
#                    with dpkg-deb), found by tests/module/elf-closure.sh
#                    (readelf, DT_NEEDED, DT_RUNPATH, DIR/lib/TRIPLET,
#                    DIR/usr/lib/TRIPLET, DIR/lib, DIR/usr/lib) and copied at
#                    their paths in DIR; a --dyn FILE inside DIR goes to its
#                    path there (DIR/usr/bin/X to /usr/bin/X), another at its
#                    own path. Without it --dyn takes this machine's binaries.
#
# Exit 0 only if the guest reported status 0 (qemu (0<<1)|1, and a
# "GUEST-RESULT 0" line; on aarch64 qemu's 0 after the guest's poweroff, and
# the line) and the log has no WARNING:, BUG:, Oops, Call Trace,
# general protection fault, UBSAN:, KASAN, list_add corruption, refcount_t:
# or hung-task report (so guest scripts must not print those words).
# Otherwise exit 1 with a one-line reason; exit 2 for usage errors.
set -euo pipefail

prog=${0##*/}
usage() { # STATUS
	sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
	exit "$1"
}
die() { echo "$prog: $*" >&2; exit 2; }

script='' kver='' timeout_s=600 mem=1024 smp=2 log='' append='' nic=none cpu=''
arch=x86_64 kroot=/ busybox=/bin/busybox # from busybox-static: the guest has no libc
sysroot=''
kos=() mods=() bins=() dyns=() files=()
while [ $# -gt 0 ]; do
	case $1 in
	-h|--help) usage 0 ;;
	--script|--ko|--mod|--bin|--dyn|--file|--kver|--timeout|--mem|--smp|--log|--append|--nic|--cpu|\
	--arch|--kroot|--busybox|--sysroot)
		[ $# -ge 2 ] || die "$1 needs an argument" ;;
	*) die "unknown option: $1 (try --help)" ;;
	esac
	case $1 in
	--script)  script=$2 ;;
	--ko)      kos+=("$2") ;;
	--mod)     mods+=("$2") ;;
	--bin)     bins+=("$2") ;;
	--dyn)     dyns+=("$2") ;;
	--file)    files+=("$2") ;;
	--kver)    kver=$2 ;;
	--timeout) timeout_s=$2 ;;
	--mem)     mem=$2 ;;
	--smp)     smp=$2 ;;
	--cpu)     cpu=$2 ;;
	--nic)     nic=$2 ;;
	--log)     log=$2 ;;
	--append)  append=$2 ;;
	--arch)    arch=$2 ;;
	--kroot)   kroot=$2 ;;
	--busybox) busybox=$2 ;;
	--sysroot) sysroot=$2 ;;
	esac
	shift 2
done
[ -n "$script" ] || usage 2 >&2
[ -f "$script" ] || die "guest script not found: $script"
[[ $timeout_s =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ && $smp =~ ^[0-9]+$ ]] ||
	die "--timeout, --mem and --smp take integers"
case $arch in
x86_64) qemu=qemu-system-x86_64 console=ttyS0 cpu=${cpu:-qemu64}
	triplet=x86_64-linux-gnu elf_machine='Advanced Micro Devices X86-64' ;;
aarch64) qemu=qemu-system-aarch64 console=ttyAMA0 cpu=${cpu:-cortex-a57}
	triplet=aarch64-linux-gnu elf_machine=AArch64 ;;
*) die "--arch $arch: x86_64 or aarch64" ;;
esac
[ -d "$kroot" ] || die "--kroot $kroot: no such directory"
# the prefix of the kernel's files here: empty for the machine's own
kpre=$(cd "$kroot" && pwd)
[ "$kpre" != / ] || kpre=''
if [ -n "$sysroot" ]; then
	[ -d "$sysroot" ] || die "--sysroot $sysroot: no such directory"
	sysroot=$(cd "$sysroot" && pwd)
	command -v readelf >/dev/null || die "readelf not found (binutils), for --sysroot"
elif [ "$arch" != "$(uname -m)" ] && [ ${#dyns[@]} -gt 0 ]; then
	die "--dyn takes this machine's binaries, not $arch ones (unless --sysroot)"
fi

# The host runs a different kernel than the guest, so never use `uname -r`;
# the ABI number (-56) also moves with Debian point releases. An unpacked
# package (--kroot) has no build link: its headers are elsewhere.
if [ -z "$kver" ]; then
	# shellcheck disable=SC2012 # kernel release names have no odd characters
	for k in $(ls -1 "$kpre/lib/modules" 2>/dev/null | sort -rV); do
		if { [ -n "$kpre" ] || [ -e "/lib/modules/$k/build" ]; } &&
			[ -f "$kpre/boot/vmlinuz-$k" ]; then
			kver=$k
			break
		fi
	done
	[ -n "$kver" ] || die "no kernel in $kpre/lib/modules with a build link and $kpre/boot/vmlinuz-*" \
		"(apt-get install linux-image-amd64 linux-headers-amd64)"
fi
kernel=$kpre/boot/vmlinuz-$kver
moddir=/lib/modules/$kver # in the guest; $kpre$moddir here
[ -r "$kernel" ] || die "cannot read $kernel"
[ -d "$kpre$moddir" ] || die "no $kpre$moddir"
[ -z "$kpre" ] || [ -f "$kpre$moddir/modules.dep" ] ||
	die "no $kpre$moddir/modules.dep (depmod -b $kpre $kver)"
for t in "$qemu" cpio depmod modprobe modinfo ldd timeout perl; do
	command -v "$t" >/dev/null || die "$t not found"
done
if [ ! -x "$busybox" ] || ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox missing or not static (apt-get install busybox-static)"
fi
# what lists the applets of a busybox of another architecture
bbrun=()
if [ "$arch" != "$(uname -m)" ]; then
	command -v "qemu-$arch" >/dev/null || die "qemu-$arch not found (qemu-user), for $busybox --list"
	bbrun=("qemu-$arch")
fi

t0=$EPOCHREALTIME
tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-guest.XXXXXX")
bgpid=''
# shellcheck disable=SC2317 # runs from the EXIT trap
cleanup() {
	# qemu writes its pid file, so a killed run does not leave a guest behind;
	# then let tee finish writing into $tmp before removing it
	if [ -s "$tmp/qemu.pid" ]; then kill "$(cat "$tmp/qemu.pid")" 2>/dev/null || true; fi
	if [ -n "$bgpid" ]; then wait "$bgpid" 2>/dev/null || true; fi
	rm -rf "$tmp" || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

root=$tmp/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root} \
	"$root$moddir/extra"

# ---- busybox ---------------------------------------------------------------
cp "$busybox" "$root/bin/busybox"
# `--list` includes "busybox" itself; linking that name would overwrite the
# binary with a self-loop and /init fails with ELOOP (error -40). One perl
# (Essential on Debian) call instead of ~270 `ln` forks.
${bbrun[@]+"${bbrun[@]}"} "$busybox" --list | D=$root/bin perl -ne 'chomp; next if $_ eq "busybox" || $_ eq "";
	symlink("busybox", "$ENV{D}/$_") or die "symlink $_: $!\n"'
# request_module() (TCP_ULP "tls", crypto "gcm(aes)", ...) execs /sbin/modprobe
ln -sf ../bin/busybox "$root/sbin/modprobe"

# ---- kernel modules ----------------------------------------------------------
# Copy a distro module and everything it needs (resolved by host kmod) at its
# real path. Built-in names print "builtin NAME" and need nothing.
add_distro_mod() { # NAME REQUIRED
	local out
	if ! out=$(modprobe ${kpre:+-d "$kpre"} -S "$kver" --show-depends "$1" 2>&1); then
		[ "$2" = 1 ] && die "distro module $1 not found for $kver: $out"
		return 0
	fi
	awk '$1 == "insmod" { print $2 }' <<<"$out" >>"$tmp/kolist"
}
: >"$tmp/kolist"
for m in industrialio kfifo_buf tls; do add_distro_mod "$m" 1; done
# kTLS AES-GCM: gcm(aes) = gcm + ctr + ghash (+ gf128mul); the AES-NI/CLMUL
# variants are modular on Debian and picked when the vCPU has them.
for m in gcm ctr ghash-generic gf128mul aesni-intel ghash-clmulni-intel; do
	add_distro_mod "$m" 0
done
for m in ${mods[@]+"${mods[@]}"}; do add_distro_mod "$m" 1; done
for ko in ${kos[@]+"${kos[@]}"}; do
	[ -f "$ko" ] || die "--ko $ko: no such file"
	vm=$(modinfo -F vermagic "$ko" 2>/dev/null) || die "--ko $ko: not a kernel module"
	# a vermagic mismatch would only show up as a guest insmod error
	[ "${vm%% *}" = "$kver" ] || die "--ko $ko was built for '${vm%% *}', guest kernel is $kver"
	cp "$ko" "$root$moddir/extra/"
	# pull in the distro modules it links against (depends= from modinfo)
	for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
		add_distro_mod "$dep" 0
	done
done
sort -u "$tmp/kolist" | while read -r ko; do
	case $ko in "$kpre$moddir"/extra/*) continue ;; esac # one of ours
	dest=${ko#"$kpre"}
	mkdir -p "$root${dest%/*}"
	cp "$ko" "$root$dest"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	if [ -f "$kpre$moddir/$f" ]; then cp "$kpre$moddir/$f" "$root$moddir/"; fi
done
touch "$root$moddir/modules.order" # depmod warns without it
depmod -b "$root" "$kver"

# ---- user files --------------------------------------------------------------
for b in ${bins[@]+"${bins[@]}"}; do
	[ -f "$b" ] || die "--bin $b: no such file"
	if ldd "$b" >/dev/null 2>&1; then
		echo "$prog: warning: --bin $b is dynamically linked; use --dyn" >&2
	fi
	cp -L "$b" "$root/bin/"
	chmod +x "$root/bin/${b##*/}"
done
# --sysroot: binaries of --arch, at their path in the sysroot or their own,
# with the loader and libraries that tests/module/elf-closure.sh finds
if [ -n "$sysroot" ] && [ ${#dyns[@]} -gt 0 ]; then
	for d in "${dyns[@]}"; do
		[ -f "$d" ] || die "--dyn $d: no such file"
		m=$(readelf -hW "$d" 2>/dev/null | sed -n 's/^ *Machine: *//p')
		[ "$m" = "$elf_machine" ] || die "--dyn $d: a '${m:-non-ELF}' file, not $arch"
		dabs=$(realpath -s "$d")
		case $dabs in "$sysroot"/*) dest=${dabs#"$sysroot"} ;; *) dest=$dabs ;; esac
		mkdir -p "$root${dest%/*}"
		cp -L "$d" "$root$dest"
	done
	# (it names on stderr what it could not find)
	out=$("$(dirname "$0")/elf-closure.sh" "$sysroot" "$triplet" "${dyns[@]}") ||
		die "--dyn: no library closure in $sysroot"
	while read -r lib dest; do
		[ -n "$lib" ] || continue # a static --dyn needs nothing
		mkdir -p "$root${dest%/*}"
		cp -L "$lib" "$root$dest"
	done <<<"$out"
	dyns=()
fi
for d in ${dyns[@]+"${dyns[@]}"}; do
	dabs=$(readlink -f "$d") || die "--dyn $d: no such file"
	[ -f "$dabs" ] || die "--dyn $d: no such file"
	[ "${d#/}" != "$d" ] || d=$dabs # keep the path as given if absolute
	mkdir -p "$root${d%/*}"
	cp -L "$d" "$root$d"
	out=$(ldd "$d" 2>&1) || die "--dyn $d: ldd failed: $out"
	! grep -q 'not found' <<<"$out" || die "--dyn $d: missing libraries: $out"
	# every path ldd prints, the dynamic loader included, at the same path
	# shellcheck disable=SC2013 # library paths have no spaces
	for lib in $(grep -o '/[^ ]*' <<<"$out"); do
		if [ ! -e "$root$lib" ]; then
			mkdir -p "$root${lib%/*}"
			cp -L "$lib" "$root$lib"
		fi
	done
done
for spec in ${files[@]+"${files[@]}"}; do
	src=${spec%%:*} dest=${spec#*:}
	if [ "$src" = "$spec" ] || [ "${dest#/}" = "$dest" ]; then
		die "--file $spec: want SRC:/ABSOLUTE/DEST"
	fi
	[ -e "$src" ] || die "--file $spec: no such file $src"
	case $dest in */) mkdir -p "$root$dest" ;; *) mkdir -p "$root${dest%/*}" ;; esac
	cp -rL "$src" "$root$dest"
done
cp "$script" "$root/test.sh"

# Name lookups of "localhost" from glibc binaries need these.
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf 'hosts: files\n' >"$root/etc/nsswitch.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

# ---- /init ---------------------------------------------------------------------
# Nothing in /init prints the words the host greps the log for.
cat >"$root/init" <<'EOF'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev # CONFIG_DEVTMPFS_MOUNT is off
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug
ip link set lo up
hostname guest
# report a stuck task after 60 s, well inside the host-side timeout
echo 60 >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
echo "run-guest: kernel $(uname -r), /init at $(cut -d' ' -f1 /proc/uptime)s"
echo "run-guest: ==== /test.sh ===="
cd /
sh /test.sh </dev/null
st=$?
echo "run-guest: ==== /test.sh exited $st at $(cut -d' ' -f1 /proc/uptime)s ===="
# the exit byte is shared with qemu's (v<<1)|1 encoding; keep it small
[ "$st" -gt 120 ] && st=120
echo "GUEST-RESULT $st"
# everything the ring buffer holds, including what loglevel kept off the console
echo "run-guest: ==== dmesg ===="
dmesg
echo "run-guest: ==== end of dmesg ===="
sync
EOF
if [ "$arch" = x86_64 ]; then
	cat >>"$root/init" <<'EOF'
# isa-debug-exit at 0xf4: qemu exits with (st<<1)|1. /dev/port needs
# CONFIG_DEVPORT; the octal printf makes the raw byte (\0 works too).
printf "\\$(printf %o "$st")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
echo "run-guest: isa-debug-exit did not stop qemu"
EOF
fi
# arm64: PSCI SYSTEM_OFF, after which qemu exits 0; the status is the
# GUEST-RESULT line above
cat >>"$root/init" <<'EOF'
poweroff -f
while :; do sleep 60; done # PID 1 must never exit
EOF
chmod +x "$root/init"

# Uncompressed: no gzip on the host, no gunzip in the (slow, TCG) guest.
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$tmp/initrd.cpio"
echo "$prog: kernel $kver, initramfs $(($(stat -c %s "$tmp/initrd.cpio") / 1024)) KiB" \
	"built in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')s"

# ---- boot ----------------------------------------------------------------------
if [ -z "$log" ]; then
	log=$tmp/console.log # copied out on failure, see below
	default_log=1
else
	: >"$log" || die "cannot write --log $log"
	default_log=
fi
# loglevel=5 puts KERN_WARNING and worse on the console (WARNING:, BUG:,
# Oops, hung task) but keeps info chatter out; /init dumps the full dmesg at
# the end anyway. printk.devkmsg=on: tests may log markers via /dev/kmsg.
cmdline="console=$console loglevel=5 printk.devkmsg=on panic=-1 $append"
case $arch in
x86_64) machine=(-machine "q35,accel=tcg" -device "isa-debug-exit,iobase=0xf4,iosize=0x04") ;;
aarch64) machine=(-machine "virt,accel=tcg") ;;
esac
start=$EPOCHREALTIME
# In the background plus `wait`, because bash runs INT/TERM traps only once a
# foreground pipeline ends; the trap's cleanup then kills qemu by its pid file.
{
	timeout -k 10 "$timeout_s" \
		"$qemu" "${machine[@]}" -cpu "$cpu" -smp "$smp" -m "$mem" \
		-kernel "$kernel" -initrd "$tmp/initrd.cpio" -append "$cmdline" \
		-nic "$nic" -nographic -no-reboot -monitor none -serial stdio -display none \
		-pidfile "$tmp/qemu.pid" </dev/null 2>&1 && qrc=0 || qrc=$?
	# quiet: after a signal the temp dir may already be gone
	echo "$qrc" 2>/dev/null >"$tmp/qemu.rc" || true
} | sed -u 's/\r$//; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc/\n/g' | tee "$log" &
bgpid=$!
wait "$bgpid" || true
bgpid=
rc=$(cat "$tmp/qemu.rc" 2>/dev/null || echo 255)
rm -f "$tmp/qemu.pid"
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# ---- verdict -------------------------------------------------------------------
bad_re='WARNING:|BUG:|Oops|Call Trace|kernel BUG|general protection fault|UBSAN:|KASAN|list_add corruption|list_del corruption|refcount_t:|INFO: task .* blocked|BUG [a-z0-9_:-]+ \(|Poison overwritten|Redzone overwritten|Object padding overwritten|pagealloc: memory corruption'
found=$(grep -Eo "$bad_re" "$log" | sed 's/INFO: task .* blocked/INFO: task blocked/' | sort -u | paste -sd, - || true)
reason=
# the guest's last word
st=$(sed -n 's/^GUEST-RESULT \([0-9]*\)$/\1/p' "$log" | tail -1)
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	reason="guest timed out after $timeout_s s"
elif [ "$arch" != x86_64 ]; then
	# no isa-debug-exit: qemu exits 0 at the guest's poweroff, and at a
	# panic's reboot (-no-reboot)
	if [ "$rc" -ne 0 ]; then
		reason="qemu failed (exit status $rc), see the log"
	elif grep -q 'Kernel panic' "$log"; then
		reason="guest kernel panicked"
	elif [ -z "$st" ]; then
		reason="guest stopped without a GUEST-RESULT line (crash?)"
	elif [ "$st" -ne 0 ]; then
		reason="guest test exited with status $st"
		[ "$st" -lt 120 ] || reason="$reason (120 stands for anything above 120)"
	fi
elif [ "$rc" -eq 0 ]; then
	if grep -q 'Kernel panic' "$log"; then
		reason="guest kernel panicked (no isa-debug-exit)"
	else
		reason="guest stopped without isa-debug-exit (reboot/poweroff/crash)"
	fi
elif [ $((rc & 1)) -eq 0 ] || [ "$rc" -gt 241 ]; then
	reason="qemu failed (exit status $rc), see the log"
else
	st=$((rc >> 1))
	if ! grep -Eq "^GUEST-RESULT $st\$" "$log"; then
		# qemu exits 1 on bad options (looks like status 0); timeout 125/127
		reason="qemu exited $rc without a 'GUEST-RESULT $st' line (qemu error?)"
	elif [ "$st" -ne 0 ]; then
		reason="guest test exited with status $st"
		[ "$st" -lt 120 ] || reason="$reason (120 stands for anything above 120)"
	fi
fi
if [ -n "$found" ]; then
	reason="${reason:+$reason; }kernel log contains: $found"
fi

if [ -z "$reason" ]; then
	echo "$prog: PASS (guest status 0, clean kernel log, ${elapsed}s in qemu)"
	exit 0
fi
# the log ends with the guest's dmesg: repeat the failed checks and what
# they printed after it, where the last lines of a CI log show them
if grep -q "GUEST-FAIL" "$log"; then
	echo "$prog: ---- failed checks, each with what followed it ----"
	awk '/^GUEST-FAIL/ { n = 12; print; next }
		/^(GUEST-|run-guest:)/ { n = 0 }
		n > 0 { n--; print }' "$log" | head -80
fi
if [ -n "$found" ]; then
	echo "$prog: ---- offending log lines ----"
	grep -En "$bad_re" "$log" | head -20
fi
if [ -n "$default_log" ]; then
	# the temp dir goes away; keep the evidence
	kept=$(mktemp "${TMPDIR:-/tmp}/run-guest-log.XXXXXX")
	cp "$log" "$kept"
	log=$kept
fi
echo "$prog: console log: $log"
echo "$prog: FAIL: $reason"
exit 1
