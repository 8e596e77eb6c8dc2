#!/usr/bin/env python3
"""Write the GBA header complement byte (0xBD) of a raw ROM image in place.

The complement makes the sum of bytes 0xA0..0xBC, plus 0x19, plus the
complement itself, zero modulo 256.
"""
import sys


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: fixheader.py ROM", file=sys.stderr)
        return 2
    path = sys.argv[1]
    with open(path, "rb") as f:
        rom = bytearray(f.read())
    if len(rom) < 0xC0:
        print(f"{path}: shorter than a GBA header", file=sys.stderr)
        return 1
    rom[0xBD] = (-(sum(rom[0xA0:0xBD]) + 0x19)) & 0xFF
    with open(path, "wb") as f:
        f.write(rom)
    return 0


if __name__ == "__main__":
    sys.exit(main())
