# Sourced by the benchmark and profile scripts: build_target DIR TARGET configures DIR as a Release
# build (tests off) when it is not configured yet, then builds TARGET; a no-op when up to date.
build_target() {
  local dir=$1 target=$2
  [ -f "$dir/build.ninja" ] || cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DES_BUILD_TESTS=OFF >/dev/null
  cmake --build "$dir" --target "$target" -j "$(nproc)" >/dev/null
}
