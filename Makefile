# Two entry points for a fresh Debian/Ubuntu machine with Python 3.10+:
#   make run   - set everything up and open the app on the bundled sample data
#   make test  - set everything up and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# torch is installed first, on its own and pinned: a loose torch requirement in a
# fresh venv would pull a multi-GB CUDA build (see DEVELOPERS notes in README).
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup run demo test test-fast lint bench quality chromium clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	# The test suite also runs the Ray backend against a local Ray runtime.
	$(PY) -m pip install --quiet -e '.[test,ray]'
	touch $@

setup: $(VENV)/.installed

# The dashboard, opening on the bundled simulated sample (http://localhost:8501).
run: setup
	$(VENV)/bin/streamlit run app.py

# Browser tests need Debian's Chromium; install it when missing (root or sudo).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Lint and unused-code checks (configured in pyproject.toml); part of `make test`.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/vulture

test: setup chromium lint
	$(PY) -m pytest -n 2 --dist loadgroup

test-fast: setup
	$(PY) -m pytest -n 2 -m "not slow and not browser"

bench: setup
	$(PY) benchmarks/train_speed.py

quality: setup
	$(PY) benchmarks/quality.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache

# The same journey on the command line: train on the bundled data, then recommend.
demo: setup
	$(PY) -m mtl train --data sample:simulated --epochs 5 --save runs/demo
	$(PY) -m mtl recommend --model runs/demo --user 1 --k 10 --fusion like=0.5,long_view=0.3,click=0.2
