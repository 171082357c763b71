#!/usr/bin/env bash
cat <<'TXT'

  Agentry is starting (web on :8000, Celery worker and beat). Ctrl+C stops everything.

  Public site + signup   http://localhost:8000/
  Staff admin            http://localhost:8000/admin/      admin@agentry.local / agentry-demo-2026
  Acme (Professional)    http://acme.localhost:8000/       owner@acme.test     / agentry-demo-2026
                         (also admin@acme.test, member@acme.test, viewer@acme.test)
  Globex (Starter trial) http://globex.localhost:8000/     owner@globex.test   / agentry-demo-2026
  API docs               http://acme.localhost:8000/api/docs/
  Health                 http://localhost:8000/healthz  ·  /readyz

TXT
