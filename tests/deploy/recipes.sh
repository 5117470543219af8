#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The Buildroot package (deploy/buildroot/iiostream/) and the Yocto recipe
# (deploy/yocto/iiostream_git.bb) say what they must: checked by parsing them,
# since neither Buildroot nor bitbake is here. Fails naming every missing item.
#   tests/deploy/recipes.sh
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
mk=$src/deploy/buildroot/iiostream/iiostream.mk
cfg=$src/deploy/buildroot/iiostream/Config.in
bb=$src/deploy/yocto/iiostream_git.bb
missing=()
need() { # need DESCRIPTION COMMAND...: DESCRIPTION is missing unless COMMAND succeeds
	local what=$1; shift
	"$@" >/dev/null 2>&1 || missing+=("$what")
}
# mk_var NAME: the value of NAME (= or +=, backslash continuations joined)
mk_var() {
	sed -e ':a' -e '/\\$/{N; s/\\\n//; ba' -e '}' "$mk" |
		sed -n "s/^$1[[:space:]]*+\?=[[:space:]]*//p" | tr '\n' ' '
}
has_words() { # has_words "VALUE" WORD...
	local v=" $(tr -s '\t' ' ' <<<"$1") " w
	for w in "${@:2}"; do [[ $v == *" $w "* ]] || return 1; done
}

for f in "$mk" "$cfg" "$bb"; do [ -f "$f" ] || missing+=("file ${f#$src/}"); done
if [ -f "$mk" ]; then
	for v in VERSION SITE SITE_METHOD LICENSE LICENSE_FILES DEPENDENCIES CONF_OPTS; do
		need "iiostream.mk: IIOSTREAM_$v" test -n "$(mk_var "IIOSTREAM_$v")"
	done
	deps=$(mk_var IIOSTREAM_DEPENDENCIES)
	for d in libuv protobuf-c host-protobuf-c openssl libiio host-pkgconf; do
		need "iiostream.mk: $d in IIOSTREAM_DEPENDENCIES" has_words "$deps" "$d"
	done
	opts=$(mk_var IIOSTREAM_CONF_OPTS)
	need "iiostream.mk: -DIIOSTREAM_TESTS=OFF in IIOSTREAM_CONF_OPTS" has_words "$opts" -DIIOSTREAM_TESTS=OFF
	need "iiostream.mk: -DIIOSTREAM_GNURADIO=OFF in IIOSTREAM_CONF_OPTS" has_words "$opts" -DIIOSTREAM_GNURADIO=OFF
	need "iiostream.mk: \$(eval \$(cmake-package))" grep -qx '\$(eval \$(cmake-package))' "$mk"
	lf=$(mk_var IIOSTREAM_LICENSE_FILES)
	for l in $lf; do need "iiostream.mk: license file $l in the tree" test -f "$src/$l"; done
fi
if [ -f "$cfg" ]; then
	need "Config.in: config BR2_PACKAGE_IIOSTREAM" grep -qx 'config BR2_PACKAGE_IIOSTREAM' "$cfg"
	for s in LIBUV PROTOBUF_C OPENSSL LIBIIO; do
		need "Config.in: select or depends on BR2_PACKAGE_$s" \
			grep -qE "^[[:space:]]+(select|depends on) BR2_PACKAGE_$s\b" "$cfg"
	done
	need "Config.in: depends on BR2_TOOLCHAIN_HAS_THREADS" grep -qE '^[[:space:]]+depends on .*BR2_TOOLCHAIN_HAS_THREADS' "$cfg"
	# the main entry's help: from its config line to the next config/if
	need "Config.in: help text for BR2_PACKAGE_IIOSTREAM" sh -c \
		"sed -n '/^config BR2_PACKAGE_IIOSTREAM\$/,/^\\(config\\|if\\|endif\\)\\b/p' '$cfg' | grep -qE '^[[:space:]]+help'"
	for o in DAEMON TOOLS; do
		need "Config.in: config BR2_PACKAGE_IIOSTREAM_$o" grep -qx "config BR2_PACKAGE_IIOSTREAM_$o" "$cfg"
	done
fi
if [ -f "$bb" ]; then
	bbv() { sed -n "s/^$1[[:space:]]*=[[:space:]]*\"\\(.*\\)\"\$/\\1/p" "$bb"; }
	need "iiostream_git.bb: LICENSE" test -n "$(bbv LICENSE)"
	md5=$(md5sum "$src/LICENSE" | cut -d' ' -f1)
	need "iiostream_git.bb: LIC_FILES_CHKSUM with file://LICENSE;md5=$md5" \
		grep -q "^LIC_FILES_CHKSUM = \"file://LICENSE;md5=$md5\"" "$bb"
	need "iiostream_git.bb: SRC_URI" test -n "$(bbv SRC_URI)"
	need "iiostream_git.bb: SRCREV" test -n "$(bbv SRCREV)"
	bbdeps=$(bbv DEPENDS)
	for d in libuv protobuf-c protobuf-c-native openssl libiio; do
		need "iiostream_git.bb: $d in DEPENDS" has_words "$bbdeps" "$d"
	done
	inh=$(sed -n 's/^inherit //p' "$bb")
	for c in cmake pkgconfig systemd; do
		need "iiostream_git.bb: inherit $c" has_words "$inh" "$c"
	done
	need "iiostream_git.bb: SYSTEMD_SERVICE iiostreamd.service" grep -q '^SYSTEMD_SERVICE.*iiostreamd\.service' "$bb"
	need "iiostream_git.bb: FILES" grep -q '^FILES:' "$bb"
	need "iiostream_git.bb: -DIIOSTREAM_TESTS=OFF" grep -q '^EXTRA_OECMAKE.*-DIIOSTREAM_TESTS=OFF' "$bb"
	need "iiostream_git.bb: -DIIOSTREAM_GNURADIO=OFF" grep -q '^EXTRA_OECMAKE.*-DIIOSTREAM_GNURADIO=OFF' "$bb"
fi
if [ ${#missing[@]} -gt 0 ]; then
	printf 'recipes: missing: %s\n' "${missing[@]}" >&2
	exit 1
fi
echo "recipes: Buildroot package and Yocto recipe have everything checked" \
	"(version $(mk_var IIOSTREAM_VERSION| tr -d ' '), LICENSE md5 $md5)"
