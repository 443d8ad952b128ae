# Sourced by scripts/run and scripts/test. Installs, only when missing, the
# pinned tools the build needs (nothing is downloaded as a prebuilt binary):
#   - the wasm32-unknown-unknown target (rustup)
#   - cargo-leptos 0.3.10 (crates.io)
#   - wasm-bindgen-cli 0.2.130, matching the wasm-bindgen crate pinned in Cargo.toml
#   - wasm-opt from binaryen 132 (npm; never Debian's binaryen 108, which breaks hydration)
#   - for tests: Debian's chromium and the end2end npm packages
# Tools live in $KEFU_TOOLS (default ~/.cache/kefu-tools) and ~/.cargo/bin.

KEFU_TOOLS=${KEFU_TOOLS:-$HOME/.cache/kefu-tools}
# One target directory outside the checkout, shared by every clone on this
# machine, so a fresh clone (CI) reuses compiled dependencies. The site
# (target/site) stays inside the checkout: cargo-leptos resolves it there.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/kefu/target}
export PATH="$KEFU_TOOLS/binaryen/node_modules/.bin:$HOME/.cargo/bin:$PATH"

KEFU_CARGO_LEPTOS_VERSION=0.3.10
KEFU_WASM_BINDGEN_VERSION=0.2.130
KEFU_BINARYEN_VERSION=132.0.0

kefu_apt_install() {
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  if ! DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@"; then
    "${sudo[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "$@"
  fi
}

kefu_build_tools() {
  mkdir -p "$KEFU_TOOLS"
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "==> adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(cargo leptos --version 2>/dev/null)" != "cargo-leptos $KEFU_CARGO_LEPTOS_VERSION" ]; then
    echo "==> installing cargo-leptos $KEFU_CARGO_LEPTOS_VERSION (about 20 minutes on 2 cores, once)"
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$KEFU_CARGO_LEPTOS_VERSION" --locked
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $KEFU_WASM_BINDGEN_VERSION" ]; then
    echo "==> installing wasm-bindgen-cli $KEFU_WASM_BINDGEN_VERSION (about 10 minutes, once)"
    # Its lockfile pins a webpki-roots the registry no longer has: repin, then install.
    cargo info "wasm-bindgen-cli@$KEFU_WASM_BINDGEN_VERSION" >/dev/null
    mkdir -p "$KEFU_TOOLS/src"
    tar xzf "$(ls ~/.cargo/registry/cache/*/wasm-bindgen-cli-$KEFU_WASM_BINDGEN_VERSION.crate | head -n 1)" -C "$KEFU_TOOLS/src"
    (cd "$KEFU_TOOLS/src/wasm-bindgen-cli-$KEFU_WASM_BINDGEN_VERSION" \
      && cargo update -p webpki-roots --precise 1.0.10 \
      && cargo install --path . --locked)
  fi
  if [ "$(wasm-opt --version 2>/dev/null | awk '{print $3}')" != "${KEFU_BINARYEN_VERSION%%.*}" ]; then
    echo "==> installing wasm-opt (binaryen $KEFU_BINARYEN_VERSION from npm)"
    npm install --no-audit --no-fund --prefix "$KEFU_TOOLS/binaryen" "binaryen@$KEFU_BINARYEN_VERSION"
  fi
}

kefu_test_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium"
    kefu_apt_install chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
    echo "==> installing the end2end npm packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
}
