#!/usr/bin/env bash
# Runs TorchCompare on Debian 12 (bookworm), whose C++ runtime is too old for libtorch 2.10 (it needs GLIBCXX_3.4.32), without
# installing anything system-wide: Debian 13 (trixie)'s libstdc++6, libgcc-s1 and libc6 are unpacked into a private directory,
# and a copy of TorchCompare's launcher is pointed at that glibc's loader (trixie's libstdc++ also needs GLIBC_2.38, and a
# glibc runs only under its own loader). Only this process uses them. From the repository root:
#   bench/TorchCompare/run-on-bookworm.sh --sizes 256,512 --repeat 7 --threads 2
set -euo pipefail
root=${TRIXIE_ROOT:-/tmp/trixie-runtime}
mirror=http://deb.debian.org/debian
lib=$root/usr/lib/x86_64-linux-gnu
if [ ! -e "$lib/libstdc++.so.6" ]; then
  mkdir -p "$root/debs"
  curl -sSf "$mirror/dists/trixie/main/binary-amd64/Packages.xz" | xz -dc > "$root/debs/Packages"
  for p in libstdc++6 libgcc-s1 libc6; do
    f=$(awk -v P="$p" '$0 == "Package: " P { on = 1 } on && /^Filename:/ { print $2; exit }' "$root/debs/Packages")
    curl -sSf "$mirror/$f" -o "$root/debs/$(basename "$f")"
    dpkg-deb -x "$root/debs/$(basename "$f")" "$root"
  done
fi
here=$(cd "$(dirname "$0")" && pwd)
dotnet build -c Release "$here" >/dev/null
bin=$here/bin/Release/net10.0
# The launcher's interpreter path is rewritten in place, so the new one must not be longer than /lib64/ld-linux-x86-64.so.2.
loader=/tmp/trixie-ld.so
ln -sf "$lib/ld-linux-x86-64.so.2" "$loader"
python3 - "$bin/TorchCompare" "$bin/TorchCompare-trixie.tmp" "$loader" <<'EOF'
import sys
src, dst, loader = sys.argv[1], sys.argv[2], sys.argv[3].encode()
data = bytearray(open(src, 'rb').read())
old = b'/lib64/ld-linux-x86-64.so.2\0'
i = data.find(old)
assert i > 0 and len(loader) < len(old), 'unexpected launcher'
data[i:i + len(old)] = loader + b'\0' * (len(old) - len(loader))
open(dst, 'wb').write(data)
EOF
chmod +x "$bin/TorchCompare-trixie.tmp"
mv -f "$bin/TorchCompare-trixie.tmp" "$bin/TorchCompare-trixie"
exec env LD_LIBRARY_PATH="$lib" "$bin/TorchCompare-trixie" "$@"
