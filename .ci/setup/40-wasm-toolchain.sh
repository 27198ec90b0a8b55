# shellcheck shell=bash
# The wasm32-wasi toolchain for @mcp-optimizer/sandbox-wasm's engine build
# (packages/sandbox-wasm/scripts/build-engine.mjs): Debian's clang, lld, wasi-libc and the
# wasm32 compiler runtime, plus dpkg-dev, which `apt-get source` needs to unpack the QuickJS
# source package. Sourced by .ci/run as root; idempotent. The build script fetches the source
# itself under a private apt configuration: this file changes no apt source.

apt_install clang lld wasi-libc libclang-rt-14-dev-wasm32 dpkg-dev
