#!/usr/bin/env bash
# Starts PostgreSQL and Redis on loopback for the production-configuration tests and makes
# the test role. Idempotent: safe to run when they are already up.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  as_root redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save "" --appendonly no
  for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  as_root service postgresql start >/dev/null
  for _ in $(seq 100); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_roles WHERE rolname='unmask'\" | grep -q 1 || psql -q -c \"CREATE ROLE unmask LOGIN SUPERUSER PASSWORD 'unmask'\""
as_root su postgres -c "psql -q -tc \"SELECT 1 FROM pg_database WHERE datname='unmask'\" | grep -q 1 || createdb -O unmask unmask"
echo "services: redis://127.0.0.1:6379/0 and postgres://unmask:unmask@127.0.0.1:5432/unmask are up"
