#!/usr/bin/env bash
# cargo deny (advisories, licences, bans, sources) against the advisory
# database snapshot kept in deny/advisory-db: CI reaches the package
# registries only, so the database cannot be fetched there. cargo-deny
# reads a git checkout, so the snapshot is made one under target/, dated
# as the upstream commit it was taken from (deny/SNAPSHOT).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null 2>&1 || cargo install --locked cargo-deny
read -r commit date < deny/SNAPSHOT
# The folder name cargo-deny derives from the database's URL.
db=target/deny/advisory-db-3157b0e258782691
rm -rf "$db"
mkdir -p "$db"
cp -R deny/advisory-db/. "$db"/
git -C "$db" init -q
git -C "$db" add -A
GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
  git -C "$db" -c user.name=snapshot -c user.email=snapshot@invalid commit -q -m "advisory-db $commit"
echo "advisory database: upstream $commit of $date"
cargo deny --offline check
