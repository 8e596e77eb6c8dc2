#!/usr/bin/env bash
# Installs what pmd-agent needs on Debian 12, only what is missing; safe to
# run any number of times. Uses sudo only when not root.
#
#   libmgba-dev        mGBA 0.10 core, linked in-process
#   gcc-arm-none-eabi  rebuilds the test cartridge (reproducibility test)
#   pkg-config, gcc, make, python3: build helpers
set -euo pipefail

packages=(libmgba-dev gcc-arm-none-eabi binutils-arm-none-eabi make gcc python3)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if ((${#missing[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        sudo="sudo"
    fi
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
    echo "setup: cargo not found; install Rust (rustup) first" >&2
    exit 1
fi
