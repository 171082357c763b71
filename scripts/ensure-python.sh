#!/usr/bin/env bash
# Fallback when no usable Python 3.11 venv could be made: install Debian's python3-venv.
set -euo pipefail
SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3 python3-venv python3-dev >/dev/null
python3 -m venv .venv
