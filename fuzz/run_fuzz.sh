#!/bin/sh
# Runs one fuzz target for a bounded time, for CTest (fuzz/CMakeLists.txt).
#
# usage: run_fuzz.sh TARGET SECONDS SEEDS CORPUS --binary PATH
#        run_fuzz.sh TARGET SECONDS SEEDS CORPUS --build FUZZ_SOURCE_DIR BUILD_DIR
#        run_fuzz.sh TARGET SECONDS SEEDS CORPUS --skip WHY
# --build configures and builds fuzz/ with clang++ first. Exit 77 (skipped)
# when clang++ or libFuzzer is missing; non-zero when the target finds a
# crash, a hang or a leak (the input is left in CORPUS/../artifacts).
set -eu
target=$1 seconds=$2 seeds=$3 corpus=$4 mode=$5
shift 5

skip() {
  echo "SKIPPED fuzz target $target: $*"
  exit 77
}

case $mode in
  --skip)
    skip "$1" ;;
  --binary)
    binary=$1 ;;
  --build)
    source_dir=$1 build_dir=$2
    command -v clang++ >/dev/null 2>&1 || skip "clang++ is not installed (Debian: clang)"
    probe=$(mktemp -d)
    trap 'rm -rf "$probe"' EXIT
    printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
      > "$probe/probe.cpp"
    clang++ -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" >/dev/null 2>&1 \
      || skip "clang++ cannot link libFuzzer (Debian: libfuzzer-14-dev)"
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
      cmake -S "$source_dir" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_COMPILER=clang++ >/dev/null
    fi
    cmake --build "$build_dir" -j2 --target "$target" >/dev/null
    binary=$build_dir/$target ;;
  *)
    echo "unknown mode $mode" >&2
    exit 2 ;;
esac

mkdir -p "$corpus" "$corpus/../artifacts"
dict=$(dirname "$0")/json.dict
echo "running $target for $seconds s (corpus $corpus, seeds $seeds)"
# New inputs go to CORPUS; the seeds are read only. A run that finds
# nothing exits 0.
exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -dict="$dict" -print_final_stats=1 \
  -artifact_prefix="$corpus/../artifacts/$target-" "$corpus" "$seeds"
