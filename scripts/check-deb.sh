#!/usr/bin/env bash
# Builds the Linux .deb bundle and checks what an installation gets: the app binary, a valid
# desktop entry whose Exec and Icon resolve inside the package, the icons, and the runtime
# libraries as dependencies. The debug profile keeps this to seconds in CI (it reuses the test
# build); a release bundle is the same command without --debug.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
bundle_dir="$target/debug/bundle/deb"
rm -rf "$bundle_dir"
ui/node_modules/.bin/tauri build --debug --bundles deb --ci

fail() { echo "check-deb: $*" >&2; exit 1; }
shopt -s nullglob
debs=("$bundle_dir"/*.deb)
[ "${#debs[@]}" = 1 ] || fail "expected one .deb in $bundle_dir, found ${#debs[@]}"
deb=${debs[0]}
info=$(dpkg-deb --info "$deb")
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libayatana-appindicator3-1; do
  grep -Eq "^ Depends:.*\b$dep\b" <<<"$info" || fail "Depends lacks $dep"
done
grep -q '^ Package: qc-backup-manager$' <<<"$info" || fail "unexpected package name"

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
dpkg-deb --extract "$deb" "$root"
[ -x "$root/usr/bin/qcbackup-desktop" ] || fail "no executable usr/bin/qcbackup-desktop"
entries=("$root"/usr/share/applications/*.desktop)
[ "${#entries[@]}" = 1 ] || fail "expected one desktop entry, found ${#entries[@]}"
entry=${entries[0]}
desktop-file-validate "$entry" || fail "invalid desktop entry"
exec_name=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$entry")
icon=$(sed -n 's/^Icon=//p' "$entry")
[ -x "$root/usr/bin/$exec_name" ] || fail "Exec=$exec_name is not in usr/bin"
for size in 32x32 128x128 512x512; do
  [ -s "$root/usr/share/icons/hicolor/$size/apps/$icon.png" ] || fail "no $size icon named $icon"
done
# The packaged binary (Tauri patches its bundle type into it, so it is not byte-equal to the
# build) is an executable whose libraries all resolve.
file -b "$root/usr/bin/qcbackup-desktop" | grep -q '^ELF 64-bit LSB pie executable' || fail "not an executable"
if ldd "$root/usr/bin/qcbackup-desktop" | grep -q 'not found'; then fail "unresolved libraries"; fi
echo "check-deb: $(basename "$deb") ($(du -h "$deb" | cut -f1)) is complete"
