# util: buffers, interning, dates, hashing, files, formatting, log, RNG.
find_package(Threads REQUIRED)
bb_module(util
  SOURCES src/util/err.c src/util/buf.c src/util/rng.c src/util/date.c src/util/intern.c
          src/util/sha256.c src/util/utf8.c src/util/fmt.c src/util/fs.c src/util/log.c src/util/csvw.c
  DEPS PkgConfig::CRYPTO Threads::Threads m)
bb_test(util SOURCES tests/test_util.c DEPS bb_util)
