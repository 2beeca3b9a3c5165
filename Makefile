# Every target sets up what it needs first; running a target twice does no work twice.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What a Raspberry Pi gets: `pip install '.[device]'`, no TensorFlow.
DEVICE_VENV ?= .venv-device
DEVICE_STAMP := $(DEVICE_VENV)/.installed

.PHONY: demo test test-device model pi-check lint bench clean

demo: $(STAMP)  ## classify speech with the shipped default model
	$(BIN)/leaf-edge demo

test: $(STAMP) $(DEVICE_STAMP)  ## the whole test suite, then the device tests without TensorFlow (what CI runs)
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory test-device

test-device: $(DEVICE_STAMP)  ## the device tests in a device-only environment (no TensorFlow)
	@$(DEVICE_VENV)/bin/python -c 'import importlib.util as u, sys; sys.exit(u.find_spec("tensorflow") is not None)' \
	  || { echo "$(DEVICE_VENV) must not contain TensorFlow"; exit 1; }
	$(DEVICE_VENV)/bin/python -m pytest -p no:cacheprovider tests/device

# `make model` rebuilds models/ from nothing: the built-in data set, LEAF and mel training, conversion.
MODEL_DATA ?= data/keywords
MODEL_RUN ?= runs/keywords-leaf
MEL_RUN ?= runs/keywords-mel
NEGATIVES ?= data/negatives
TASK := Speech Commands' 12-label keyword task (yes, no, up, down, left, right, on, off, stop, go, silence, unknown)
MODEL_META := --licence Apache-2.0 --author "leaf-edge contributors"
INSTRUMENT_DATA ?= data/instruments
INSTRUMENT_RUN ?= runs/instruments-leaf
INSTRUMENT_MEL_RUN ?= runs/instruments-mel
INSTRUMENTS := NSynth's 11 instrument families rendered from General MIDI sound fonts

model: $(STAMP)  ## rebuild models/ from nothing (about 7 hours on 2 cores; resumes if interrupted)
	test -f $(MODEL_DATA)/dataset.json || $(BIN)/leaf-edge data keywords $(MODEL_DATA)
	test -f $(NEGATIVES)/manifest.csv || $(BIN)/leaf-edge data negatives $(NEGATIVES)
	$(BIN)/leaf-edge train $(MODEL_DATA) --negatives $(NEGATIVES) --out $(MODEL_RUN)
	$(BIN)/leaf-edge train $(MODEL_DATA) --frontend mel --out $(MEL_RUN)
	$(BIN)/leaf-edge convert $(MODEL_RUN) -o $(MODEL_RUN)/keywords-leaf.tflite --quantize int8 --gabor grouped --force \
	  $(MODEL_META) --name keywords-leaf \
	  --description "$(TASK): LEAF (grouped filterbank) + EfficientNetB0, int8, with a streaming model inside."
	$(BIN)/leaf-edge calibrate $(MODEL_RUN)/keywords-leaf.tflite $(MODEL_DATA) --negatives $(NEGATIVES) \
	  -o models/keywords-leaf.tflite --target-fa-per-hour 1 --target-speech-fa-per-hour none --force
	$(BIN)/leaf-edge convert $(MODEL_RUN) -o models/keywords-leaf-float.tflite --quantize none --no-streaming --force \
	  $(MODEL_META) --name keywords-leaf-float --description "$(TASK): LEAF (exact) + EfficientNetB0, float32."
	$(BIN)/leaf-edge convert $(MEL_RUN) -o models/keywords-mel.tflite --quantize int8 --force \
	  $(MODEL_META) --name keywords-mel --description "$(TASK): mel filterbanks + EfficientNetB0, int8 (baseline)."
	$(BIN)/python scripts/make_demo_recording.py models/demo-keywords.wav
	test -f $(INSTRUMENT_DATA)/dataset.json || $(BIN)/leaf-edge data instruments $(INSTRUMENT_DATA)
	$(BIN)/leaf-edge train $(INSTRUMENT_DATA) --gabor grouped --classifier cnn-small --epochs 60 --out $(INSTRUMENT_RUN)
	$(BIN)/leaf-edge train $(INSTRUMENT_DATA) --frontend mel --classifier cnn-small --epochs 60 --out $(INSTRUMENT_MEL_RUN)
	$(BIN)/leaf-edge convert $(INSTRUMENT_RUN) -o models/instruments-leaf.tflite --quantize int8 --task scenes --force \
	  $(MODEL_META) --name instruments-leaf \
	  --description "$(INSTRUMENTS): LEAF (grouped filterbank) + cnn-small, int8, with a streaming model inside."
	$(BIN)/leaf-edge convert $(INSTRUMENT_MEL_RUN) -o models/instruments-mel.tflite --quantize int8 --task scenes --force \
	  $(MODEL_META) --name instruments-mel --description "$(INSTRUMENTS): mel filterbanks + cnn-small, int8 (baseline)."

pi-check:  ## the device side on an emulated Raspberry Pi 4 (arm64 under qemu; ~15 min, not in CI)
	scripts/pi-check.sh

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## frontend cost (exact and grouped LEAF, mel) and every shipped model, side by side
	$(BIN)/python bench/frontends.py
	$(BIN)/leaf-edge bench

$(STAMP): pyproject.toml scripts/install-system-deps.sh
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	  || { echo "leaf-edge needs Python >= 3.11; run: make PYTHON=python3.11 ..."; exit 1; }
	scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[train,device,dev]'
	touch $@

$(DEVICE_STAMP): pyproject.toml scripts/install-system-deps.sh
	scripts/install-system-deps.sh
	test -x $(DEVICE_VENV)/bin/python || $(PYTHON) -m venv $(DEVICE_VENV)
	$(DEVICE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(DEVICE_VENV)/bin/python -m pip install --quiet -e '.[device]' pytest
	touch $@

clean:
	rm -rf $(VENV) $(DEVICE_VENV) build *.egg-info .pytest_cache .ruff_cache
