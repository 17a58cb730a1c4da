# One entry point: `make book` renders the book, `make test` runs every test, `make lab` opens the
# chapters as notebooks in JupyterLab.
# All three create the virtual environment .venv and install the package on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
NBVAL_DIR := _build/nbval
# the book's execution cache, as _config.yml names it
EXECUTION_CACHE := _build/.jupyter_cache
MATHJAX_VERSION := 3.2.2
MATHJAX := _build/static/mathjax/tex-mml-chtml.js
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# On machines without internet the datasets sit in ../shared/data.
ifneq ($(wildcard ../shared/data/MNIST/raw),)
export CATVAE_DATA_DIR ?= $(abspath ../shared/data)
endif

.PHONY: book test lab lab-not-as-root benchmarks export check-export notebooks chromium clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,book,lab,cluster]"
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

# JupyterLab set up in .venv: the chapters (MyST markdown) open
# as notebooks through jupytext (the default viewer, in the settings overrides); the kernel is named
# "Python 3" as in the chapters' headers, which a save would otherwise rewrite; the server's config
# keeps markdown without front matter (README.md) free of a jupytext header when saved as a notebook.
$(VENV)/.lab: tools/jupyterlab/overrides.json tools/jupyterlab/jupyter_server_config.py $(VENV)/.installed
	mkdir -p $(VENV)/share/jupyter/lab/settings/overrides.d $(VENV)/etc/jupyter
	cp tools/jupyterlab/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.d/catvae_lit.json
	cp tools/jupyterlab/jupyter_server_config.py $(VENV)/etc/jupyter/jupyter_server_config.py
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3" >/dev/null
	touch $@

# Kernels run in book/, so a relative data folder would land there: default to the project's data/.
# What a session writes (runtime files, workspaces, settings changed in the interface) goes to .venv/jupyter/,
# not to the home folder (Jupyter still reads the user's own configuration there).
# Terminals are off: the token gives the notebooks, not a shell (LAB_OPTIONS can turn them on).
# As root, whoever holds the token runs code as root: refused unless LAB_OPTIONS says --allow-root.
# LAB_OPTIONS passes options on, e.g. make lab LAB_OPTIONS="--no-browser --port=8899".
JUPYTER_FILES := $(CURDIR)/$(VENV)/jupyter
lab: lab-not-as-root $(VENV)/.lab
	@echo "Starting JupyterLab at $(CURDIR); open the http://... address it prints below (Ctrl-C stops it)."
	CATVAE_DATA_DIR="$${CATVAE_DATA_DIR:-$(CURDIR)/data}" \
		JUPYTER_RUNTIME_DIR="$${JUPYTER_RUNTIME_DIR:-$(JUPYTER_FILES)/runtime}" \
		JUPYTERLAB_WORKSPACES_DIR="$${JUPYTERLAB_WORKSPACES_DIR:-$(JUPYTER_FILES)/workspaces}" \
		JUPYTERLAB_SETTINGS_DIR="$${JUPYTERLAB_SETTINGS_DIR:-$(JUPYTER_FILES)/settings}" \
		$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --ServerApp.terminals_enabled=False $(LAB_OPTIONS)

lab-not-as-root:
	@if [ "$$(id -u)" = 0 ] && ! printf '%s\n' $(LAB_OPTIONS) | grep -qx -- --allow-root; then \
		echo "make lab: refusing to run Jupyter as root, where the token would run code as root; run it as another user, or pass LAB_OPTIONS=--allow-root if you mean it" >&2; \
		exit 2; \
	fi

# Unit tests, two at a time (they are mostly single-threaded), then every chapter under nbval, one at a time (two chapters
# at once, each training on two threads, run slower than one after the other); the slowest are listed, to keep CI short.
# Then the rendered book and the chapters in JupyterLab, both in headless Chromium (screenshots in _build/screenshots/).
# The book shows the outputs of nbval's run of each chapter (tools/nbval_outputs.py puts them in the book's execution
# cache), so no chapter runs twice.
test: check-export chromium notebooks
	$(BIN)/python -m pytest tests --ignore=tests/browser -n 2 --dist loadfile -p no:cacheprovider --durations=15
	$(BIN)/python -m pytest $(NBVAL_DIR) --nbval-lax --nbval-current-env --nbval-cell-timeout=900 -p no:cacheprovider \
		--durations=10 -p tools.nbval_outputs --outputs-to=$(EXECUTION_CACHE)
	$(MAKE) book
	$(BIN)/python -m pytest tests/browser/test_rendered_book.py tests/browser/test_jupyterlab.py -p no:cacheprovider

# The browser test drives Chromium and ChromeDriver, or those named by $CHROMIUM and $CHROMEDRIVER. On Debian they are
# installed here when missing (apt-get, as root or with sudo); elsewhere the target says what to install.
chromium:
	@if ! command -v $${CHROMIUM:-chromium} >/dev/null || ! command -v $${CHROMEDRIVER:-chromedriver} >/dev/null; then \
		if grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then \
			echo "Installing Debian's chromium and chromium-driver for the browser test"; \
			$(SUDO) apt-get update -qq && \
			$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "make test needs Chromium and ChromeDriver: install both (on Ubuntu, the chromium snap, whose driver is chromium.chromedriver) and name them in CHROMIUM and CHROMEDRIVER if they are not on the PATH as chromium and chromedriver" >&2; \
			exit 1; \
		fi; \
	fi

book: check-export $(VENV)/.installed $(MATHJAX)
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "The book is at _build/html/index.html"

# MathJax travels with the book (see _config.yml), taken from the npm registry once.
$(MATHJAX):
	npm install --silent --no-save --no-audit --no-fund --prefix _build/npm mathjax@$(MATHJAX_VERSION)
	rm -rf $(dir $@) && mkdir -p _build/static
	cp -r _build/npm/node_modules/mathjax/es5 $(dir $@)

# Timings, not tests: training throughput against a reference and as ensembles, the KDE against scikit-learn,
# each chapter.
benchmarks: $(VENV)/.installed
	$(BIN)/python benchmarks/training.py
	$(BIN)/python benchmarks/ensemble.py
	$(BIN)/python benchmarks/kde.py --full
	$(BIN)/python benchmarks/recurrent.py
	$(BIN)/python benchmarks/chapters.py

clean:
	rm -rf _build
