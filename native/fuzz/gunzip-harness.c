/*
 * Fuzz harness of the native gunzip: gunzipMember of record-walk.c with the vendored libdeflate,
 * built with AddressSanitizer and UBSan by src/bench/fuzz-walk.ts (`npm run fuzz`), which
 * generates the inputs (gzip files, whole and damaged) and checks what this prints against
 * Node's zlib: whatever the native gunzip accepts, zlib must accept and inflate to the same bytes.
 *
 * stdin: inputs, each a little-endian uint32 output size, a uint32 length and that many bytes.
 * Each input and its output buffer are allocated at exactly their size (a read or write past
 * either end is an ASan report). stdout, per input: the int32 result (the inflated length, or
 * -1), then that many bytes of output.
 */
#define RECORD_WALK_NO_NAPI 1
#define WALK_GUNZIP 1
#include "../record-walk.c"
#include <stdio.h>

static void put(const void *p, size_t n) {
  if (n > 0 && fwrite(p, 1, n, stdout) != n) exit(3);
}

static int u32(uint32_t *v) {
  uint8_t h[4];
  if (fread(h, 1, 4, stdin) != 4) return 0;
  *v = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
  return 1;
}

int main(void) {
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (!d) return 2;
  uint32_t nd, ns;
  while (u32(&nd)) {
    if (!u32(&ns)) return 2;
    uint8_t *src = malloc(ns ? ns : 1), *dst = malloc(nd ? nd : 1);
    if (!src || !dst || fread(src, 1, ns, stdin) != ns) return 2;
    double got = gunzipMember(d, src, ns, dst, nd);
    int32_t r = got < 0 ? -1 : (int32_t)got;
    if (got > (double)nd) return 4; /* more than the buffer holds: cannot be */
    put(&r, 4);
    if (r > 0) put(dst, (size_t)r);
    free(src);
    free(dst);
  }
  libdeflate_free_decompressor(d);
  return 0;
}
