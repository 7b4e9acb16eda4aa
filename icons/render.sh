#!/bin/sh
# Regenerates the Tauri icon set from icon.svg and tray.svg.
# Needs: rsvg-convert (Debian: librsvg2-bin) or ImageMagick's convert for SVG
# rendering, ImageMagick's convert for the .ico, and optionally png2icns
# (Debian: icnsutils) for the macOS .icns.
set -eu
cd "$(dirname "$0")"

render() { # svg size out.png
  if command -v rsvg-convert >/dev/null 2>&1; then
    rsvg-convert -w "$2" -h "$2" "$1" -o "$3.tmp.png"
  else
    convert -background none -density 384 "$1" -resize "$2x$2" "$3.tmp.png"
  fi
  # Tauri requires 8-bit RGBA PNGs.
  convert "$3.tmp.png" -background none -alpha on PNG32:"$3"
  rm -f "$3.tmp.png"
}

render icon.svg 32 32x32.png
render icon.svg 128 128x128.png
render icon.svg 256 128x128@2x.png
render icon.svg 512 icon.png
render tray.svg 32 tray.png

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in 16 24 32 48 64 128 256; do render icon.svg "$s" "$tmp/$s.png"; done
convert "$tmp/16.png" "$tmp/24.png" "$tmp/32.png" "$tmp/48.png" "$tmp/64.png" "$tmp/128.png" "$tmp/256.png" icon.ico

if command -v png2icns >/dev/null 2>&1; then
  for s in 16 32 48 128 256 512; do render icon.svg "$s" "$tmp/icns_$s.png"; done
  png2icns icon.icns "$tmp/icns_16.png" "$tmp/icns_32.png" "$tmp/icns_48.png" "$tmp/icns_128.png" \
    "$tmp/icns_256.png" "$tmp/icns_512.png" >/dev/null
else
  echo "png2icns not found (apt-get install icnsutils): icon.icns not regenerated" >&2
fi
echo "icons rendered in $(pwd)"
