# One entry point: `make book` renders the book, `make test` runs every test.
# Both create the virtual environment .venv and install the package on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NBVAL_DIR := _build/nbval

# On machines without internet the datasets sit in ../shared/data.
ifneq ($(wildcard ../shared/data/MNIST/raw),)
export CATVAE_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: book test benchmarks export check-export notebooks clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,book]"
	touch $@

export:
	$(PYTHON) tools/export.py

check-export:
	$(PYTHON) tools/export.py --check

notebooks: $(VENV)/.installed
	rm -rf $(NBVAL_DIR) && mkdir -p $(NBVAL_DIR)
	for chapter in book/*.md; do \
		$(BIN)/jupytext --quiet --to ipynb -o $(NBVAL_DIR)/$$(basename $$chapter .md).ipynb $$chapter || exit 1; \
	done

test: check-export notebooks
	$(BIN)/python -m pytest tests $(NBVAL_DIR) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider

book: check-export $(VENV)/.installed
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is at _build/html/index.html"

# Timings, not tests: training throughput against a reference, the KDE against scikit-learn, each chapter.
benchmarks: $(VENV)/.installed
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/kde.py --full
	$(BIN)/python benchmarks/chapters.py

clean:
	rm -rf _build
