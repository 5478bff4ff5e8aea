# `make run` and `make test` do all the set-up on a fresh machine: they create .venv and
# install VoiceStudio (editable) with what it needs on first use. packaging/preflight.py names
# missing build tools first; the app names missing window libraries before Qt loads.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test bench lint install clean dist

$(STAMP): pyproject.toml Makefile
	@$(PYTHON) packaging/preflight.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip 'setuptools<81' wheel
	$(PIP) install --quiet -e '.[dev,train]' 'setuptools<81'
	$(PIP) install --quiet --no-deps 'silero-vad>=6,<7' 'resemblyzer==0.1.4'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/voicestudio

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/live_analysis.py
	$(BIN)/python benchmarks/gui.py
	$(BIN)/python benchmarks/dubbing.py
	$(BIN)/python benchmarks/watermark.py
	$(BIN)/python benchmarks/consent.py
	$(BIN)/python benchmarks/lexicon.py
	$(BIN)/python benchmarks/markup_timings.py
	$(BIN)/python benchmarks/perform.py
	$(BIN)/python benchmarks/clone_quality.py

# ruff (line length 100 included) and the import contracts in pyproject.toml (the layers of
# docs/architecture.md, no cycles, no Qt below the GUI, no torch outside training).
lint: $(STAMP)
	$(BIN)/ruff check voicestudio tests benchmarks packaging
	$(BIN)/lint-imports --no-logo --no-cache

# Inference-only desktop bundle (no torch) in dist/VoiceStudio, checked by its self-test.
dist: $(STAMP)
	$(PIP) install --quiet 'pyinstaller>=6.10,<7'
	$(BIN)/python packaging/stage_models.py build/models
	$(BIN)/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/voicestudio.spec
	QT_QPA_PLATFORM=offscreen dist/VoiceStudio/voicestudio --self-test --screenshots build/selftest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache tests/artifacts
