"""Reads the process environment once; every setting that varies by deployment comes from here.

`.env` in the project root is optional (see `.env.example` for every variable).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
