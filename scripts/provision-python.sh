#!/usr/bin/env bash
# Install CPython 3.14 and/or 3.15 from Debian's unstable suite into a private
# prefix of this repository (.pythons/<version>/, git-ignored), without root
# and without touching the system's apt sources.
#
#   bash scripts/provision-python.sh 3.14 3.15    # prints "<version> <path to python>" per version
#
# Idempotent: a prefix whose interpreter already runs is left alone. Debian
# ships these versions as binary packages only, built against a newer glibc
# than this machine's, so the prefix carries its own C library and loader:
#
# 1. a private apt configuration (own sources list, lists, cache and an empty
#    status file) for unstable; `apt-get download` of the interpreter's
#    packages and the shared libraries they link; `dpkg-deb -x` into the prefix;
# 2. the interpreter patched to use the prefix's dynamic loader and a DT_RPATH
#    (inherited by lib-dynload modules, unlike RUNPATH) on the prefix's
#    library directory, with patchelf 0.14 from Debian bookworm, fetched by
#    the same private configuration (0.18 corrupts Debian's non-PIE binary);
# 3. sysconfig data rewritten from /usr to the prefix, so venv/ensurepip and
#    extension builds (pyo3-build-config, setuptools) find the prefix's wheels,
#    headers and libpython; Debian's multiarch pyconfig.h wrapper replaced by
#    the real header; EXTERNALLY-MANAGED removed.
#
# A program that embeds one of these interpreters (a doctest linked to
# libpython3.1x.so) must run under the prefix's loader too: `embed-runner`
# (written next to the interpreter) does that, and sets PYTHONHOME.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD/.pythons"
suite="${PYAWAITABLE_DEBIAN_SUITE:-unstable}"
# patchelf comes from here: 0.14 (0.18, in newer suites, corrupts the binary)
patchelf_suite=bookworm
mirror="${PYAWAITABLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
arch=x86_64-linux-gnu

die() { echo "provision-python: $*" >&2; exit 1; }

[ $# -gt 0 ] || die "usage: $0 3.14 [3.15]"
for tool in apt-get apt-cache dpkg-deb; do
    command -v "$tool" >/dev/null || die "'$tool' not found: this script needs a Debian-based machine"
done
[ "$(dpkg --print-architecture)" = amd64 ] || die "only amd64 is supported (this is $(dpkg --print-architecture))"

apt_dir="$root/apt"
apt_opts=(
    -o "Dir::Etc=$apt_dir/etc"
    -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
    -o "Dir::Etc::Parts=$apt_dir/etc/apt.conf.d"
    -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Architecture=amd64"
    -o "Acquire::Languages=none"
    -o "Debug::NoLocking=1"
    -o "APT::Sandbox::User=root"
)

apt_update() {
    [ -n "${apt_updated:-}" ] && return
    mkdir -p "$apt_dir"/etc/{sources.list.d,apt.conf.d,preferences.d} "$apt_dir"/lists/partial \
        "$apt_dir"/cache/archives/partial
    : > "$apt_dir/status"
    printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s %s main\n' \
        "$mirror" "$suite" "$mirror" "$patchelf_suite" > "$apt_dir/etc/sources.list"
    apt-get "${apt_opts[@]}" -q update >"$apt_dir/update.log" 2>&1 \
        || { cat "$apt_dir/update.log" >&2; die "apt-get update of Debian $suite failed (is $mirror reachable?)"; }
    apt_updated=1
}

# Download packages into $1 with the private configuration; a package that the
# suite does not have is named in the error.
download() {
    local into=$1; shift
    local missing=() pkg
    for pkg in "$@"; do
        apt-cache "${apt_opts[@]}" show "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] || die "Debian $suite has no package: ${missing[*]}"
    mkdir -p "$into"
    (cd "$into" && apt-get "${apt_opts[@]}" -q download "$@" >download.log 2>&1) \
        || { cat "$into/download.log" >&2; die "apt-get download failed for: $*"; }
}

patchelf_bin() {
    local dir="$root/patchelf"
    if [ ! -x "$dir/usr/bin/patchelf" ]; then
        apt_update
        rm -rf "$dir" && mkdir -p "$dir/deb"
        (cd "$dir/deb" && apt-get "${apt_opts[@]}" -q download "patchelf/$patchelf_suite" >/dev/null 2>&1) \
            || die "cannot download patchelf from Debian $patchelf_suite"
        dpkg-deb -x "$dir"/deb/patchelf_*.deb "$dir"
    fi
    echo "$dir/usr/bin/patchelf"
}

provision() {
    local v=$1 prefix="$root/$1"
    local python="$prefix/usr/bin/python$v"
    if [ -x "$python" ] && "$python" -c 'import ssl, sqlite3, ctypes, venv, ensurepip' 2>/dev/null \
        && [ -f "$prefix/.provisioned" ]; then
        echo "$v $python"
        return
    fi
    echo "provision-python: installing CPython $v from Debian $suite into $prefix" >&2
    rm -rf "$prefix"
    apt_update
    local pkgs=(
        "python$v" "python$v-minimal" "python$v-venv" "python$v-dev"
        "libpython$v" "libpython$v-minimal" "libpython$v-stdlib" "libpython$v-dev"
        python3-pip-whl python3-setuptools-whl
        libc6 libgcc-s1 libssl3t64 libffi8 libexpat1 zlib1g libbz2-1.0 liblzma5 libzstd1
        libsqlite3-0 libuuid1 libreadline8t64 libncursesw6 libtinfo6 libmpdec4 libdb5.3t64
    )
    download "$prefix/debs" "${pkgs[@]}"
    local deb
    for deb in "$prefix"/debs/*.deb; do
        dpkg-deb -x "$deb" "$prefix"
    done
    rm -rf "$prefix/debs"

    local lib="$prefix/usr/lib/$arch" loader
    loader="$lib/ld-linux-x86-64.so.2"
    [ -e "$loader" ] || die "libc6 of Debian $suite has no $loader"
    "$(patchelf_bin)" --set-interpreter "$loader" --force-rpath --set-rpath "$lib" "$python"

    # sysconfig: /usr -> the prefix (paths only: '/usr', '/usr/...', -I/usr/..., -L/usr/...).
    local stdlib="$prefix/usr/lib/python$v"
    "$python" - "$prefix" "$stdlib" <<'EOF'
import glob, os, re, sys
prefix, stdlib = sys.argv[1], sys.argv[2]
pattern = re.compile(r"(?<![\w./-])/usr(?=[/'\"\s:]|$)", re.M)
files = glob.glob(os.path.join(stdlib, "_sysconfigdata_*.py")) + glob.glob(os.path.join(stdlib, "_sysconfig_vars_*.json"))
if not files:
    sys.exit("provision-python: no _sysconfigdata in " + stdlib)
for path in files:
    text = open(path).read()
    with open(path, "w") as f:
        f.write(pattern.sub(prefix + "/usr", text))
EOF
    find "$stdlib" -name '__pycache__' -path '*sysconfig*' -prune -exec rm -rf {} + 2>/dev/null || true
    rm -f "$stdlib"/__pycache__/_sysconfigdata_* "$stdlib/EXTERNALLY-MANAGED"
    local include="$prefix/usr/include/python$v"
    if [ -f "$prefix/usr/include/$arch/python$v/pyconfig.h" ]; then
        cp "$prefix/usr/include/$arch/python$v/pyconfig.h" "$include/pyconfig.h"
    fi
    [ -e "$prefix/usr/bin/python3" ] || ln -s "python$v" "$prefix/usr/bin/python3"

    cat > "$prefix/embed-runner" <<EOF
#!/bin/sh
# Runs a program linked to libpython$v.so under the prefix's own loader and libraries.
PYTHONHOME="$prefix/usr" exec "$loader" --library-path "$lib" "\$@"
EOF
    chmod +x "$prefix/embed-runner"

    "$python" -c 'import ssl, sqlite3, ctypes, lzma, bz2, zlib, decimal, readline, venv, ensurepip, sysconfig
assert sysconfig.get_config_var("LIBDIR").startswith(sysconfig.get_config_var("prefix")), "sysconfig not rewritten"' \
        || die "CPython $v was unpacked but does not run correctly (see above)"
    touch "$prefix/.provisioned"
    echo "$v $python"
}

for version in "$@"; do
    case "$version" in
        3.14|3.15) provision "$version" ;;
        *) die "only 3.14 and 3.15 are provisioned here (got '$version'); 3.9-3.13 come from pyenv" ;;
    esac
done
