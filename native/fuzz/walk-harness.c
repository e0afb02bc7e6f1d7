/*
 * Fuzz harness of the native byte walk: record-walk.c without its Node-API glue, built with
 * AddressSanitizer and UBSan by src/bench/fuzz-walk.ts (`npm run fuzz`), which generates the
 * inputs and compares what this prints with the JavaScript walk (record-bytes.ts, the oracle).
 *
 * stdin: inputs, each a little-endian uint32 length and that many bytes. Each input is copied to
 * a buffer of exactly its size (so a read past the end is an ASan report) and walked twice: with
 * spanHash slots (intern = 0), then with intern ids (intern = 1, the table kept across inputs and
 * started afresh as in Walk_). The index starts at two records and doubles on FULL, as
 * indexRecords does, so the FULL path is walked too.
 * stdout, per input and walk: int32 result (records, or -1), then for intern = 1 the table's
 * generation (uint32), then result * STRIDE int32 of the index (absent: nothing).
 */
#define RECORD_WALK_NO_NAPI 1
#include "../record-walk.c"
#include <stdio.h>

static void put(const void *p, size_t n) {
  if (fwrite(p, 1, n, stdout) != n) exit(3);
}

int main(void) {
  static Table T; /* zeroed: as Init's calloc */
  uint8_t hdr[4];
  while (fread(hdr, 1, 4, stdin) == 4) {
    uint32_t n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    uint8_t *b = malloc(n ? n : 1);
    if (!b || fread(b, 1, n, stdin) != n) return 2;
    for (int mode = 0; mode < 2; mode++) {
      size_t metaLen = STRIDE * 2;
      for (;;) {
        int32_t *meta = malloc(metaLen * sizeof *meta);
        if (!meta) return 2;
        memset(meta, 0x7f, metaLen * sizeof *meta); /* no stale values from an earlier input */
        if (mode == 1) {
          if (T.n >= MAX_ENTRIES || T.poolUsed >= MAX_BYTES) internFree(&T);
          if (!T.slots && !internInit(&T)) return 2;
        }
        Walk w = {.b = b, .n = n, .meta = meta, .metaLen = metaLen, .intern = mode, .table = &T};
        int32_t r = walkDocument(&w);
        if (w.err) r = w.err;
        if (r == FULL) {
          free(meta);
          metaLen *= 2;
          continue;
        }
        put(&r, 4);
        if (mode == 1) put(&T.generation, 4);
        if (r > 0) put(meta, (size_t)r * STRIDE * sizeof *meta);
        free(meta);
        break;
      }
    }
    free(b);
  }
  internFree(&T);
  return fflush(stdout) == 0 ? 0 : 3;
}
