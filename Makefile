# The two commands a newcomer needs:
#   make run    install what is missing, build, start proxy + simulator, print the URL
#   make test   every check CI runs (.ci/run calls exactly this)
.DEFAULT_GOAL := help
SHELL := /bin/bash

LISTEN ?= 127.0.0.1:8080

.PHONY: help setup widget run test bench soak herd e2e-repeat fmt clean-dist

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

setup: ## install missing tools (wasm target, Trunk, wasm-bindgen-cli, chromium, binaryen)
	@scripts/setup.sh

widget: setup ## build the release widget into dist/ (with .br/.gz siblings)
	@scripts/build-widget.sh

run: widget ## build everything and start proxy + CCC simulator on $(LISTEN)
	@scripts/run.sh $(LISTEN)

test: setup ## fmt, clippy, native tests, browser tests, bundle size, end-to-end
	@scripts/test.sh

bench: widget ## print performance figures (bundle size, ...)
	@scripts/bench.sh

soak: ## proxy soak figures: SOAK_SECS (600) of 1,000 agents with faults
	@scripts/soak.sh

herd: ## CCC-call economy figures only: a shift start, ringing at 10,000 agents
	@scripts/soak.sh herd

e2e-repeat: setup ## run the end-to-end suite REPEAT (10) times in a row, stop at the first failure
	@scripts/e2e-repeat.sh

fmt: ## format the code
	@cargo fmt --all

clean-dist:
	@rm -rf dist
