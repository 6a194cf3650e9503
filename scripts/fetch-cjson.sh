#!/usr/bin/env bash
# Fetch cJSON's source (1.7.15 with Debian's patches) from Debian bookworm's source package into
# third_party/cjson/. Uses a private apt configuration under build/apt-src/ so the system's apt
# setup is left untouched. Cached: does nothing when third_party/cjson/cJSON.c is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

dest=third_party/cjson
if [ -f "$dest/cJSON.c" ] && [ -f "$dest/cJSON.h" ]; then
    exit 0
fi
for tool in apt-get dpkg-source; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "fetch-cjson: '$tool' not found (apt-get: Debian's apt; dpkg-source: package dpkg-dev)" >&2
        exit 1
    fi
done

work=$(pwd)/build/apt-src
rm -rf "$work"
mkdir -p "$work/sources.list.d" "$work/lists/partial" "$work/download"
cat > "$work/sources.list.d/bookworm-src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC

apt_private=(-o Dir::Etc::sourcelist=/dev/null -o Dir::Etc::sourceparts="$work/sources.list.d"
             -o Dir::State::lists="$work/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
             -o Debug::NoLocking=1)
echo "fetch-cjson: apt-get update (private source list in $work)"
apt-get "${apt_private[@]}" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; exit 1; }
(cd "$work/download" && apt-get "${apt_private[@]}" source --download-only cjson) >"$work/source.log" 2>&1 \
    || { cat "$work/source.log" >&2; exit 1; }
dsc=$(ls "$work"/download/cjson_*.dsc | head -n 1)
(cd "$work/download" && dpkg-source -x "$(basename "$dsc")" src) >"$work/extract.log" 2>&1 \
    || { cat "$work/extract.log" >&2; exit 1; }

version=$(sed -n 's/^Version: //p' "$dsc")
case $version in
    1.7.15*) ;;
    *) echo "fetch-cjson: expected cJSON 1.7.15, Debian has $version" >&2; exit 1 ;;
esac
mkdir -p "$dest"
cp "$work/download/src/cJSON.c" "$work/download/src/cJSON.h" "$work/download/src/LICENSE" "$dest/"
echo "cJSON $version from Debian bookworm source package ($(basename "$dsc"))" > "$dest/SOURCE"
echo "fetch-cjson: cJSON $version -> $dest"
