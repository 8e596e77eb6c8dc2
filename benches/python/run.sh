#!/usr/bin/env bash
# The Python side of pmd-agent's side-by-side emulator benchmark (issue 9).
# Not part of CI. Creates its own venv (benches/python/.venv) with pinned
# versions from PyPI, once, then runs emu_bench.py; the JSON report goes to
# stdout, progress to stderr.
#
#   benches/python/run.sh --keys keys.npy --steps steps.npy [--rom ROM] [emu_bench.py options]
#   benches/python/run.sh                   # dev key sequence, bundled cartridge
#
# Without --rom it uses tests/data/cartridge.gba; without --keys/--steps it
# writes a development sequence (dev_keys.py) under benches/python/.work.
# Needs Debian's libmgba0.10 (installed here with apt-get when missing) and
# Python 3.10 or 3.11 (the only ones the `mgba` wheels are built for).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
WORK="$HERE/.work"

# Every package the venv holds, dependencies included, at exact versions.
PINS=(
  mgba==0.10.2            # official mGBA bindings (cffi), load Debian's libmgba.so.0.10
  cffi==2.1.1
  pycparser==3.12
  cached-property==2.0.1
  pygba==0.2.9            # gymnasium env over the mgba bindings
  pygame==2.6.1           # pygba imports it
  pillow==13.0.0          # pygba's observations go through PIL (mgba[pil])
  stable-retro==1.0.1     # bundles its own libretro mGBA core (0.7.0)
  pyglet==1.5.31
  farama-notifications==0.0.6
  gymnasium==1.4.0
  cloudpickle==3.1.2
  typing-extensions==4.16.0
  numpy==2.4.6
)

die() { echo "run.sh: $*" >&2; exit 1; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

ensure_libmgba() {
  if ldconfig -p | grep -q 'libmgba\.so\.0\.10 '; then
    return
  fi
  command -v apt-get >/dev/null || die "libmgba.so.0.10 is missing (Debian: apt-get install libmgba0.10)"
  echo "run.sh: installing Debian's libmgba0.10" >&2
  as_root apt-get update -qq
  as_root apt-get install -y -qq libmgba0.10 >&2
}

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.11 python3.10 python3; do
    [[ -n $candidate ]] || continue
    command -v "$candidate" >/dev/null || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] not in ((3, 10), (3, 11)))'; then
      echo "$candidate"
      return
    fi
  done
  die "needs Python 3.10 or 3.11 (PyPI's mgba 0.10.2 has wheels for those only); set PYTHON=..."
}

ensure_venv() {
  local stamp="$VENV/.pins" want
  want="$(printf '%s\n' "${PINS[@]}")"
  if [[ -x $VENV/bin/python && -f $stamp && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  local python
  python="$(find_python)"
  echo "run.sh: creating $VENV with $python" >&2
  rm -rf "$VENV"
  "$python" -m venv "$VENV" || die "'$python -m venv' failed (Debian: apt-get install python3-venv)"
  # --no-deps with the whole list pinned: exactly these versions, nothing
  # resolved on the fly; pip check proves the list is complete.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input --no-deps \
    "${PINS[@]}" >&2
  "$VENV/bin/pip" check >&2 || die "the pinned set is inconsistent"
  printf '%s\n' "$want" >"$stamp"
}

args=("$@")
has() {
  local a
  for a in "${args[@]}"; do [[ $a == "$1" || $a == "$1="* ]] && return 0; done
  return 1
}

ensure_libmgba
ensure_venv

if ! has --rom; then
  args+=(--rom "$REPO/tests/data/cartridge.gba")
fi
keys_given=no steps_given=no
if has --keys; then keys_given=yes; fi
if has --steps; then steps_given=yes; fi
[[ $keys_given == "$steps_given" ]] || die "give both --keys and --steps, or neither"
if ! has --keys; then
  mkdir -p "$WORK"
  "$VENV/bin/python" "$HERE/dev_keys.py" --steps 3000 \
    --out-keys "$WORK/dev_keys.npy" --out-steps "$WORK/dev_steps.npy"
  echo "run.sh: no --keys/--steps given: using the development sequence in $WORK" >&2
  args+=(--keys "$WORK/dev_keys.npy" --steps "$WORK/dev_steps.npy")
fi

exec "$VENV/bin/python" "$HERE/emu_bench.py" "${args[@]}"
