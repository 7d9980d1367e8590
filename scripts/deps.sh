# SPDX-License-Identifier: MIT
# scripts/deps.sh - sourced by test.sh and demo.sh: install the Debian
# packages that are missing (only those), then build into ./build.

# Build tools, libraries, and the tools the tests and the demo drive.
SSS_PKGS=(gcc make autoconf automake libtool pkg-config
          libssl-dev openssl libconfig-dev libcunit1-dev libsnmp-dev
          libcap-ng-dev libsystemd-dev
          snmpd snmp snmptrapd smitools iproute2 procps psmisc
          iputils-ping socat iperf3 jq e2fsprogs util-linux mount curl
          prometheus-snmp-exporter groff-base man-db systemd easy-rsa)
# What the Debian package test needs on top (scripts/package-test.sh).
SSS_PKG_TEST_PKGS=(debhelper dpkg-dev fakeroot lintian)

sss_install_deps() {
	local p missing=()
	for p in "${SSS_PKGS[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [[ $(id -u) != 0 ]]; then
		echo "missing packages (${missing[*]}): run as root to install them" >&2
		return 1
	fi
	echo "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
}

# sss_build [CONFIGURE-ARGS...]: autoreconf, configure (once) and make in ./build.
sss_build() {
	local top=$PWD
	[[ -x configure && configure -nt configure.ac && configure -nt Makefile.am ]] || autoreconf -fi
	mkdir -p build
	cd build
	if [[ ! -f Makefile || ${SSS_RECONFIGURE:-0} == 1 ]]; then
		../configure "$@" >configure.out || { cat configure.out; cd "$top"; return 1; }
	fi
	make -j"$(nproc)"
	cd "$top"
}
