.PHONY: setup demo test lint
setup:
	bash scripts/setup.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
lint:
	.venv/bin/ruff check engine collectors tests bench && .venv/bin/mypy
