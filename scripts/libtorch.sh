#!/usr/bin/env bash
# Installs the libtorch that `tch` 0.24 builds and runs against (PyTorch
# 2.11.0, CPU use) into a per-machine cache, and links it to ./.libtorch
# (ignored by git). Safe to run any number of times and from several
# processes at once; the second run on a machine takes well under a second.
#
#   scripts/libtorch.sh            install if missing, link ./.libtorch
#   scripts/libtorch.sh --print    also print the libtorch directory
#   scripts/libtorch.sh --wheels   only make sure the three wheels are in
#                                  the cache (checked sha256) and print their
#                                  paths, torch first (scripts/torch-venv.sh
#                                  installs them into .venv)
#
# Where it comes from: PyPI serves libtorch only inside the `torch` wheel
# (a CUDA 13 build, ~530 MB). A CPU run needs from it the headers and three
# shared libraries, plus the CUDA runtime and CUPTI that libtorch_cpu links
# against, which come from two small NVIDIA wheels. Their versions are the
# ones torch's METADATA asks for: torch 2.11.0 requires
# cuda-toolkit[cudart,cupti,...]==13.0.2, whose METADATA pins
# nvidia-cuda-runtime==13.0.96.* and nvidia-cuda-cupti==13.0.85.*.
# Only that subset is extracted (~0.5 GB of the several GB a full CUDA
# install would need).
#
# libtorch.so itself is a thin library that lists libtorch_cuda.so (450 MB,
# plus cuBLAS, cuDNN, ...) as a dependency. tch names it on the link line,
# so it must exist, but the linker drops it from the final binaries
# (--as-needed: nothing in it is used), so a CPU run never loads it.
#
# Environment:
#   PMD_CACHE_DIR   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/pmd-agent)
#   PMD_LIBTORCH_LINK  where to link it (default <project>/.libtorch)
set -euo pipefail

TORCH_VERSION=2.11.0
# Exact files and their sha256, as listed by PyPI's simple index. The wheel
# tag is pinned so every machine gets the same bytes whatever its Python.
TORCH_WHEEL=torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl
TORCH_SHA256=7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a
CUDART_WHEEL=nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
CUDART_SHA256=7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548
CUPTI_WHEEL=nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl
CUPTI_SHA256=4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8
# Bumped whenever the extracted layout changes, so old caches are redone.
LAYOUT=1

print_dir=0
wheels_only=0
case "${1:-}" in
    --print) print_dir=1 ;;
    --wheels) wheels_only=1 ;;
    "") ;;
    *) echo "usage: $0 [--print | --wheels]" >&2; exit 2 ;;
esac

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "libtorch.sh: only Linux x86-64 is supported (PyPI's wheel for this platform); set LIBTORCH to your own libtorch $TORCH_VERSION" >&2
    exit 1
fi

project="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${PMD_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pmd-agent}"
wheels="$cache/wheels"
dest="$cache/libtorch-$TORCH_VERSION"
link="${PMD_LIBTORCH_LINK:-$project/.libtorch}"
stamp="$dest/.complete"
want_stamp="torch=$TORCH_SHA256 cudart=$CUDART_SHA256 cupti=$CUPTI_SHA256 layout=$LAYOUT"

log() { echo "libtorch.sh: $*" >&2; }

link_it() {
    # A relative link would break when the project moves; an absolute one
    # into the cache is what every build on this machine shares.
    if [ "$(readlink "$link" 2>/dev/null || true)" != "$dest" ]; then
        rm -rf "$link.tmp.$$"
        ln -s "$dest" "$link.tmp.$$"
        mv -T "$link.tmp.$$" "$link"
    fi
    if [ "$print_dir" = 1 ]; then echo "$dest"; fi
}

# Fast path, without the lock: a finished install is never modified.
if [ "$wheels_only" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
    link_it
    exit 0
fi

mkdir -p "$cache" "$wheels"
exec 9>"$cache/libtorch.lock"
if ! flock -n 9; then
    log "another install is running; waiting for it"
    flock 9
fi
# The other run may have finished it.
if [ "$wheels_only" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want_stamp" ]; then
    link_it
    exit 0
fi
# Leftovers of runs that were killed (we hold the lock: nobody else's).
rm -rf "$wheels"/.dl.* "$cache/.libtorch-$TORCH_VERSION".*

sha_ok() { # file sha256
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

pip_cmd() {
    if python3 -m pip --version >/dev/null 2>&1; then
        python3 -m pip "$@"
    else
        # Debian's python3 has no pip; a venv in the cache brings one.
        if [ ! -x "$cache/pip-venv/bin/pip" ]; then
            python3 -m venv "$cache/pip-venv" >&2 || {
                log "python3 -m venv failed: install python3-venv (apt-get install python3-venv)"
                exit 1
            }
        fi
        "$cache/pip-venv/bin/pip" "$@"
    fi
}

fetch() { # name==version wheel-file sha256
    local spec="$1" file="$2" sha="$3"
    if sha_ok "$wheels/$file" "$sha"; then
        return 0
    fi
    rm -f "$wheels/$file"
    log "downloading $file"
    local req tmpdir
    tmpdir="$(mktemp -d "$wheels/.dl.XXXXXX")"
    req="$tmpdir/requirements.txt"
    echo "$spec --hash=sha256:$sha" >"$req"
    # pip checks the hash itself (--require-hashes); downloading into a
    # private directory and renaming makes an interrupted download harmless.
    pip_cmd download --quiet --no-deps --require-hashes --only-binary=:all: \
        --no-cache-dir --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
        --platform manylinux_2_17_x86_64 --python-version 3.11 \
        --implementation cp --abi cp311 --dest "$tmpdir" -r "$req" >&2
    if ! sha_ok "$tmpdir/$file" "$sha"; then
        log "downloaded $file is missing or has the wrong sha256"
        rm -rf "$tmpdir"
        exit 1
    fi
    mv "$tmpdir/$file" "$wheels/$file"
    rm -rf "$tmpdir"
}

fetch "torch==$TORCH_VERSION" "$TORCH_WHEEL" "$TORCH_SHA256"
fetch "nvidia-cuda-runtime==13.0.96" "$CUDART_WHEEL" "$CUDART_SHA256"
fetch "nvidia-cuda-cupti==13.0.85" "$CUPTI_WHEEL" "$CUPTI_SHA256"

if [ "$wheels_only" = 1 ]; then
    printf '%s\n' "$wheels/$TORCH_WHEEL" "$wheels/$CUDART_WHEEL" "$wheels/$CUPTI_WHEEL"
    exit 0
fi

log "extracting into $dest"
work="$(mktemp -d "$cache/.libtorch-$TORCH_VERSION.XXXXXX")"
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
python3 - "$wheels/$TORCH_WHEEL" "$wheels/$CUDART_WHEEL" "$wheels/$CUPTI_WHEEL" "$work" <<'PY'
import os, re, shutil, stat, sys, zipfile

torch_whl, cudart_whl, cupti_whl, out = sys.argv[1:5]
lib = os.path.join(out, "lib")
os.makedirs(lib)

def copy(zf, info, target):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with zf.open(info) as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    mode = (info.external_attr >> 16) & 0o777
    os.chmod(target, mode | stat.S_IRUSR | stat.S_IWUSR if mode else 0o644)

# From torch: the headers tch compiles against, the libraries a CPU run
# loads (found with ldd, see below), and the version for torch-sys' check.
torch_libs = re.compile(r"torch/lib/(libtorch\.so|libtorch_cpu\.so|libc10\.so|libgomp[^/]*\.so[.0-9]*)$")
with zipfile.ZipFile(torch_whl) as zf:
    version = None
    for info in zf.infolist():
        name = info.filename
        if name.endswith("/"):
            continue
        if name.startswith("torch/include/"):
            copy(zf, info, os.path.join(out, name[len("torch/"):]))
        elif torch_libs.match(name):
            copy(zf, info, os.path.join(lib, os.path.basename(name)))
        elif name == "torch/version.py":
            text = zf.read(info).decode()
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
            version = m.group(1) if m else None
    if version is None:
        sys.exit("torch/version.py has no __version__")
    # torch-sys reads this file and refuses a libtorch of another version.
    with open(os.path.join(out, "build-version"), "w") as f:
        f.write(version + "\n")

# The NVIDIA wheels keep their libraries under nvidia/<cuda>/lib/.
for whl, pattern in ((cudart_whl, r"libcudart\.so\.13$"), (cupti_whl, r"libcupti\.so\.13$")):
    found = False
    with zipfile.ZipFile(whl) as zf:
        for info in zf.infolist():
            if re.search(r"^nvidia/.*/lib/" + pattern, info.filename):
                copy(zf, info, os.path.join(lib, os.path.basename(info.filename)))
                found = True
    if not found:
        sys.exit(f"{os.path.basename(whl)} has no {pattern}")
PY

# Every library must resolve all its dependencies from lib/ or the system
# (libtorch.so excepted: see above); a "not found" here would only show up
# later as a failed test binary.
missing="$(cd "$work/lib" && for so in *.so*; do LD_LIBRARY_PATH="$work/lib" ldd "$so" | sed -n "s|^\s*\(\S*\) => not found|$so: \1|p"; done | grep -vx 'libtorch.so: libtorch_cuda.so' || true)"
if [ -n "$missing" ]; then
    log "libraries with unresolved dependencies:"
    echo "$missing" >&2
    exit 1
fi
grep -qx "$TORCH_VERSION\(+.*\)\?" "$work/build-version" || {
    log "the wheel says it is torch $(cat "$work/build-version"), expected $TORCH_VERSION"
    exit 1
}

echo "$want_stamp" >"$work/.complete"
rm -rf "$dest.old"
if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
mv "$work" "$dest"
rm -rf "$dest.old"
trap - EXIT
log "libtorch $(cat "$dest/build-version") ready: $(du -sh "$dest" | cut -f1) in $dest"
link_it
