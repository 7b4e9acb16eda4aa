# QCBackup Manager. `make run` and `make test` work on a fresh Debian/Ubuntu machine: they
# install what is missing (scripts/bootstrap.sh) and then build, run or test.
SHELL := /bin/bash
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
# One package and feature selection for every build that includes the desktop shell (the same
# as scripts/test.sh uses), so nothing is compiled twice.
ALL := --workspace --features qcbackup-desktop/custom-protocol,qcbackup-desktop/ts
APP := $(CARGO_TARGET_DIR)/debug/qcbackup-desktop

.PHONY: run demo test ui desktop lint test-e2e ts-types

## Build and start the desktop app on the embedded demo tenant (the headless demo without a display).
run:
	scripts/bootstrap.sh run
	$(MAKE) desktop
	@if [ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]; then \
	  echo "make run: no display (DISPLAY/WAYLAND_DISPLAY unset), so running the headless demo instead: make demo"; \
	  $(MAKE) demo; \
	else \
	  "$(APP)"; \
	fi

## Back up, list and restore the demo tenant from the command line.
demo:
	cargo run -q -p qcb-cli --bin qcbackup -- demo

## Every test: formatting, lints, engine, UI, and the real window under Xvfb.
test:
	scripts/bootstrap.sh test
	scripts/test.sh

ui:
	cd ui && npm run build

desktop: ui
	cargo build $(ALL)

lint: ui
	cargo fmt --all --check
	cargo clippy $(ALL) --all-targets -- -D warnings

## Only the desktop end-to-end tests (needs `make desktop` first). Each test starts its own
## D-Bus session and gnome-keyring.
test-e2e:
	QCB_E2E_APP="$(APP)" xvfb-run -a -s "-screen 0 1280x800x24" cargo nextest run $(ALL) --no-fail-fast -E 'package(qcb-e2e)'

## Regenerate the UI's TypeScript types of the engine's DTOs (ui/src/lib/backend/generated).
ts-types:
	QCB_WRITE_TS=1 cargo test -p qcb-engine --features ts --test ts_types
	QCB_WRITE_TS=1 cargo test -p qcbackup-desktop --features ts --lib ts_types
