# Developer shortcuts; the README's two commands (scripts/run, scripts/test) need no make.
.PHONY: install fmt lint typecheck test check run schemas

install:
	scripts/bootstrap

fmt: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: install
	.venv/bin/mypy

test: install
	.venv/bin/pytest

check:
	scripts/test

run:
	scripts/run --demo

schemas: install
	.venv/bin/python -m common_messaging.schemas docs/schemas
