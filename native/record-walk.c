/*
 * The byte walk of src/ingest/record-bytes.ts in C: the same grammar, the same fields, the same
 * record index (layout, flags, spans and hashes), so that the JavaScript walk is both its
 * fallback and its oracle (test/ingest/record-bytes.test.ts compares the two on real, generated
 * and randomly damaged documents, and both against JSON.parse).
 *
 * Why native: the walk validates every byte of every file (it accepts exactly what JSON.parse
 * accepts), and at about 1.5 ns a byte in JavaScript it was the largest single cost of a scan.
 * Strings, most of the bytes, are skipped 16 bytes at a time with SSE2 where the CPU has it.
 *
 * walk(bytes: Uint8Array, meta: Int32Array, intern = true): the number of records, -1 when the
 * bytes are not a document the walk accepts (the caller then reads the file the general way),
 * -2 when `meta` is too small for the index (the caller grows it and calls again). With `intern`,
 * each string field's third slot holds an intern id instead of the JS walk's hash (see intern()),
 * so JavaScript neither hashes nor compares the bytes of values it has seen before, and eventTime's
 * holds the time in seconds (see isoSeconds).
 * generation() and reset(): see the intern table; internStats() and internHash(), for tests, too.
 *
 * Fuzzed: `npm run fuzz` builds native/fuzz/walk-harness.c (this file without the Node-API glue)
 * with AddressSanitizer and UBSan and compares it with the JavaScript walk on random and mutated
 * documents (src/bench/fuzz-walk.ts).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* memmem */
#endif
#ifndef RECORD_WALK_NO_NAPI /* the fuzz harnesses (native/fuzz) build the walk and gunzip alone */
#include <node_api.h>
#endif
#ifdef WALK_GUNZIP
#include "libdeflate/libdeflate.h" /* vendored: native/libdeflate/README.md */
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <sys/random.h>
#endif
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Keep in step with record-bytes.ts. */
enum {
  F_TIME = 0, F_SOURCE, F_NAME, F_REGION, F_IP, F_UA, F_ERRCODE, F_ERRMSG, F_ID, F_RECIPIENT,
  F_UI, F_UI_TYPE, F_UI_ARN, F_UI_INVOKEDBY, F_RP, F_RP_ROLEARN, F_RP_ITYPE,
  F_RP_SECRETID, F_RP_SECRETLIST, F_RP_PNAME, F_RP_PNAMES, F_RP_PATH, F_RES,
  /* What principalOf reads of userIdentity besides type, arn and invokedBy: spans only (third slot 0). */
  F_UI_PID, F_UI_ACCOUNT, F_UI_AKID, F_UI_USER, F_UI_CONSOLE, F_SC_SOURCEID, F_SI_USER, F_SI_ARN, F_SI_ACCOUNT, F_MFA,
  /* The user agent's family (uaFamily below) in the third slot, with intern ids only; start always -1. */
  F_UA_FAM, NF
};
/* Keys of objects inside userIdentity the walk enters (not fields: nothing is stored for them). */
enum { K_SC = 100, K_SI, K_ATTR };
enum { R_START = 0, R_END = 1, R_FLAGS = 2, R_FIELDS = 3 };
#define STRIDE (R_FIELDS + NF * 3)
#define COMPLEX 1
/* userIdentity holds something of what principalOf reads that the walk did not give (not a plain string, an escape, not an object): parse it. */
#define UI_PARSE 2
#define MAX_DEPTH 256
/* Bump with any change to walk()'s arguments or the index layout (native-walk.ts checks it). */
#define WALK_ABI 7
#define REJECT (-1)
#define FULL (-2)

typedef struct Table Table; /* the intern table, below */

/* A value to intern: its bytes [s, e), their internHash, and the index slot its id goes to. */
typedef struct {
  int32_t *o;
  int32_t *fam; /* a user agent's: where its family goes (see uaFamily), else NULL */
  uint32_t s, e, h;
} Pending;
#define MAX_PENDING 32

typedef struct {
  const uint8_t *b;
  size_t n;
  int32_t *meta;
  size_t metaLen;
  int32_t count;
  int err; /* 0, REJECT or FULL: once set, every function unwinds */
  int intern; /* field slot +2 holds an intern id (1) or the JS walk's spanHash (0) */
  Table *table;
  int pending; /* values of this record yet to intern (see internLater) */
  Pending pend[MAX_PENDING];
} Walk;

enum { T_RECORD, T_UI, T_RP, T_SC, T_SI, T_ATTR };

static inline int at(const Walk *w, size_t i) { return i < w->n ? w->b[i] : -1; }
static inline int isWs(int c) { return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09; }
static inline size_t ws(const Walk *w, size_t i) {
  while (i < w->n && isWs(w->b[i])) i++;
  return i;
}
/* The byte at the first non-whitespace position from *ip (-1: the end), *ip moved there. */
static inline int next(const Walk *w, size_t *ip) {
  size_t i = *ip;
  if (i < w->n && w->b[i] > 0x20) return w->b[i]; /* CloudTrail's files have no whitespace between tokens */
  *ip = i = ws(w, i);
  return at(w, i);
}
static inline int isHex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* `i` at a backslash: the position after a valid escape sequence. */
static size_t escape(Walk *w, size_t i) {
  int c = at(w, i + 1);
  if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') return i + 2;
  if (c == 'u' && isHex(at(w, i + 2)) && isHex(at(w, i + 3)) && isHex(at(w, i + 4)) && isHex(at(w, i + 5))) return i + 6;
  w->err = REJECT;
  return i;
}

#if defined(__SSE2__)
/* A mask of the bytes of b[i, i + 16) that end a string's plain run: '"', '\\' or below 0x20. */
static inline unsigned specials(const uint8_t *b, size_t i) {
  const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
  __m128i x = _mm_loadu_si128((const __m128i *)(b + i));
  __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl)); /* x <= 0x1f, unsigned */
  return (unsigned)_mm_movemask_epi8(special);
}
#endif

/* strBody past its fast path: escapes, control characters, the last 15 bytes of the document. */
static size_t strRest(Walk *w, size_t i, int *escaped) {
  const uint8_t *b = w->b;
  const size_t n = w->n;
  for (;;) {
#if defined(__SSE2__)
    while (i + 16 <= n) {
      unsigned mask = specials(b, i);
      if (mask != 0) {
        i += (size_t)__builtin_ctz(mask);
        break;
      }
      i += 16;
    }
#endif
    while (i < n) {
      uint8_t c = b[i];
      if (c == '"' || c == '\\' || c < 0x20) break;
      i++;
    }
    if (i >= n) {
      w->err = REJECT;
      return i;
    }
    uint8_t c = b[i];
    if (c == '"') return i;
    if (c == '\\') {
      *escaped = 1;
      i = escape(w, i);
      if (w->err) return i;
    } else {
      w->err = REJECT; /* a control character */
      return i;
    }
  }
}

/*
 * `i` just after an opening quote: the position of the closing quote. Sets *escaped when the
 * string has an escape sequence; w->err on a control character, a bad escape or the end.
 * Inline, the usual case: the closing quote is the first special byte, found 16 bytes at a time.
 */
static inline size_t strBody(Walk *w, size_t i, int *escaped) {
#if defined(__SSE2__)
  const uint8_t *b = w->b;
  while (i + 16 <= w->n) {
    unsigned mask = specials(b, i);
    if (mask != 0) {
      i += (size_t)__builtin_ctz(mask);
      if (b[i] == '"') return i;
      break;
    }
    i += 16;
  }
#endif
  return strRest(w, i, escaped);
}

/* `i` at the opening quote: the position after the closing quote. */
static size_t str(Walk *w, size_t i, int *escaped) {
  i = strBody(w, i + 1, escaped);
  return w->err ? i : i + 1;
}

static inline uint32_t word(const uint8_t *b, size_t i) {
  return (uint32_t)b[i] | ((uint32_t)b[i + 1] << 8) | ((uint32_t)b[i + 2] << 16) | ((uint32_t)b[i + 3] << 24);
}

/* spanHash of record-bytes.ts, bit for bit. */
static int32_t spanHash(const uint8_t *b, size_t s, size_t e) {
  const uint32_t P = 0x01000193u;
  size_t n = e - s;
  uint32_t h = (0x811c9dc5u ^ (uint32_t)n) * P;
  if (n <= 24) {
    size_t i = s;
    for (; i + 4 <= e; i += 4) h = (h ^ word(b, i)) * P;
    for (; i < e; i++) h = (h ^ b[i]) * P;
  } else {
    size_t m = s + ((n >> 1) & ~(size_t)3) - 4;
    h = (h ^ word(b, s)) * P;
    h = (h ^ word(b, s + 4)) * P;
    h = (h ^ word(b, m)) * P;
    h = (h ^ word(b, m + 4)) * P;
    h = (h ^ word(b, e - 8)) * P;
    h = (h ^ word(b, e - 4)) * P;
  }
  return (int32_t)(h ^ (h >> 15));
}

/*
 * Interning: equal byte strings get the same id, so that JavaScript decodes each distinct value
 * once (native-walk.ts keeps the strings by id). One table per thread (Node-API instance data:
 * the main thread and each worker have their own), bounded: past MAX_ENTRIES values or MAX_BYTES
 * of them it starts afresh at the next walk, and `generation` tells JavaScript to drop its
 * strings. Ids stay valid for the whole walk that gave them.
 *
 * The table's hash reads every byte of a value and starts from a random seed, drawn afresh with
 * each table: the values are the logs' (user agents, ARNs), which whoever makes API calls in an
 * account chooses. A hash of fewer bytes (spanHash reads at most 24) or a fixed one lets such a
 * caller make a million distinct values that all hash alike, and each lookup would then compare
 * against all the values before it: hours of CPU for a day of logs instead of a second.
 */
#define MAX_ENTRIES (1u << 17)
#define MAX_BYTES ((size_t)8 << 20)
/* A slot holds everything a probe compares, so that a hit costs one slot and the value's bytes. */
typedef struct {
  uint32_t hash, id1 /* id + 1; 0: empty */, len, off;
} Slot;
struct Table {
  uint8_t *pool;
  size_t poolCap, poolUsed;
  uint32_t n;
  Slot *slots;
  uint32_t mask;
  uint32_t generation;
  uint64_t seed; /* of internHash, drawn by internInit */
  uint8_t *fams; /* by id: a user agent's family + 1 (0: not worked out yet); famCap of them */
  uint32_t famCap;
};

static void internFree(Table *T) {
  free(T->pool);
  free(T->slots);
  free(T->fams);
  uint32_t g = T->generation;
  memset(T, 0, sizeof *T);
  T->generation = g + 1;
}

static inline uint64_t load64(const uint8_t *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}
static inline uint64_t load32(const uint8_t *p) {
  uint32_t x;
  memcpy(&x, p, 4);
  return x;
}
static inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

/* The intern table's hash of bytes [s, e): every byte, 8 at a time, from the table's seed. */
static inline uint32_t internHash(const Table *T, const uint8_t *b, size_t s, size_t e) {
  const uint64_t K = 0x9fb21c651e98df25ull;
  const uint8_t *p = b + s;
  size_t n = e - s;
  uint64_t h = T->seed ^ (n * 0x9e3779b97f4a7c15ull);
  if (n >= 8) {
    for (size_t i = 0; i + 8 < n; i += 8) h = rotl((h ^ load64(p + i)) * K, 31);
    h = (h ^ load64(p + n - 8)) * K; /* the last 8 (overlapping the ones before when n % 8 != 0) */
  } else if (n >= 4) h = (h ^ (load32(p) | load32(p + n - 4) << 32)) * K;
  else if (n > 0) h = (h ^ (p[0] | (uint64_t)p[n >> 1] << 8 | (uint64_t)p[n - 1] << 16)) * K;
  h ^= h >> 32;
  h *= K;
  h ^= h >> 29;
  return (uint32_t)h;
}

/* A seed nobody outside this process knows: the system's random bytes, else time and addresses. */
static uint64_t freshSeed(const Table *T) {
  uint64_t x = 0;
#if defined(__linux__)
  if (getrandom(&x, sizeof x, GRND_NONBLOCK) == (ssize_t)sizeof x) return x;
#endif
  struct timespec ts = {0, 0};
  timespec_get(&ts, TIME_UTC);
  x = (uint64_t)(uintptr_t)T ^ ((uint64_t)(uintptr_t)&x << 17) ^ ((uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ts.tv_sec ^
      ((uint64_t)T->generation << 40);
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  return x ^ (x >> 29);
}

static int internInit(Table *T) {
  T->seed = freshSeed(T);
  T->poolCap = 1 << 16;
  T->mask = (1u << 13) - 1;
  T->pool = malloc(T->poolCap);
  T->slots = calloc((size_t)T->mask + 1, sizeof *T->slots);
  if (!T->pool || !T->slots) {
    internFree(T);
    return 0;
  }
  return 1;
}

static int rehash(Table *T) {
  uint32_t cap = (T->mask + 1) * 2, mask = cap - 1;
  Slot *slots = calloc(cap, sizeof *slots);
  if (!slots) return 0;
  for (uint32_t i = 0; i <= T->mask; i++) {
    if (T->slots[i].id1 == 0) continue;
    uint32_t slot = T->slots[i].hash & mask;
    while (slots[slot].id1 != 0) slot = (slot + 1) & mask;
    slots[slot] = T->slots[i];
  }
  free(T->slots);
  T->slots = slots;
  T->mask = mask;
  return 1;
}

/* Bytes p[0, n) equal q[0, n): inline for values of up to 16 bytes, most of them. */
static inline int same(const uint8_t *p, const uint8_t *q, uint32_t n) {
  if (n >= 8 && n <= 16) return load64(p) == load64(q) && load64(p + n - 8) == load64(q + n - 8);
  if (n >= 4 && n < 8) return load32(p) == load32(q) && load32(p + n - 4) == load32(q + n - 4);
  return memcmp(p, q, n) == 0;
}

/* The id of bytes [s, e) whose internHash is h; -1 when out of memory. */
static int32_t intern(Table *T, const uint8_t *b, size_t s, size_t e, uint32_t h) {
  uint32_t n = (uint32_t)(e - s);
  uint32_t slot = h & T->mask;
  for (;;) {
    const Slot *x = &T->slots[slot];
    if (x->id1 == 0) break;
    if (x->hash == h && x->len == n && same(T->pool + x->off, b + s, n)) return (int32_t)(x->id1 - 1);
    slot = (slot + 1) & T->mask;
  }
  if (T->poolUsed + n > T->poolCap) {
    size_t cap = T->poolCap * 2;
    while (cap < T->poolUsed + n) cap *= 2;
    uint8_t *p = realloc(T->pool, cap);
    if (!p) return -1;
    T->pool = p;
    T->poolCap = cap;
  }
  memcpy(T->pool + T->poolUsed, b + s, n);
  uint32_t id = T->n++;
  T->slots[slot] = (Slot){h, id + 1, n, (uint32_t)T->poolUsed};
  T->poolUsed += n;
  if (T->n * 2 > T->mask + 1 && !rehash(T)) return -1;
  return (int32_t)id;
}

static size_t digits(Walk *w, size_t i) {
  size_t s = i;
  while (i < w->n && w->b[i] >= '0' && w->b[i] <= '9') i++;
  if (i == s) w->err = REJECT;
  return i;
}

static size_t num(Walk *w, size_t i) {
  if (at(w, i) == '-') i++;
  if (at(w, i) == '0') i++;
  else {
    i = digits(w, i);
    if (w->err) return i;
  }
  if (at(w, i) == '.') {
    i = digits(w, i + 1);
    if (w->err) return i;
  }
  int c = at(w, i);
  if (c == 'e' || c == 'E') {
    i++;
    if (at(w, i) == '+' || at(w, i) == '-') i++;
    i = digits(w, i);
  }
  return i;
}

static size_t lit(Walk *w, size_t i, const char *word, size_t len) {
  if (i + len > w->n || memcmp(w->b + i, word, len) != 0) {
    w->err = REJECT;
    return i;
  }
  return i + len;
}

/* `i` just after a key: past the colon, the position of the value and (*c) its first byte. */
static inline size_t colon(Walk *w, size_t i, int *c) {
  if (i + 1 < w->n && w->b[i] == ':' && w->b[i + 1] > 0x20) { /* no whitespace: one bounds check */
    *c = w->b[i + 1];
    return i + 1;
  }
  if (next(w, &i) != ':') {
    w->err = REJECT;
    *c = -1;
    return i;
  }
  i++;
  *c = next(w, &i);
  return i;
}

/* A key and its colon at `i`: the position of the value after them (and whitespace), *c its first byte. */
static size_t key(Walk *w, size_t i, int *c) {
  int dummy = 0;
  if (at(w, i) != '"') {
    w->err = REJECT;
    return i;
  }
  i = str(w, i, &dummy);
  if (w->err) return i;
  return colon(w, i, c);
}

/* Any JSON value at `i` (after whitespace): validated, and the position after it. */
static size_t value(Walk *w, size_t i) {
  uint8_t stack[MAX_DEPTH + 1];
  int d = 0;
  int c = at(w, i);
  int dummy = 0;
  for (;;) {
    if (c == '"') {
      i = str(w, i, &dummy);
      if (w->err) return i;
    } else if (c == '{' || c == '[') {
      if (d == MAX_DEPTH) {
        w->err = REJECT;
        return i;
      }
      stack[d++] = (uint8_t)c;
      i++;
      c = next(w, &i);
      if (c == (stack[d - 1] == '{' ? '}' : ']')) {
        d--;
        i++;
      } else {
        if (stack[d - 1] == '{') i = key(w, i, &c);
        if (w->err) return i;
        continue;
      }
    } else if (c == 't') i = lit(w, i, "true", 4);
    else if (c == 'f') i = lit(w, i, "false", 5);
    else if (c == 'n') i = lit(w, i, "null", 4);
    else i = num(w, i);
    if (w->err) return i;
    /* After a value: the end, a comma, or closers. */
    for (;;) {
      if (d == 0) return i;
      c = next(w, &i);
      if (c == ',') {
        i++;
        c = next(w, &i);
        if (stack[d - 1] == '{') i = key(w, i, &c);
        if (w->err) return i;
        break;
      }
      if (c == (stack[d - 1] == '{' ? '}' : ']')) {
        d--;
        i++;
      } else {
        w->err = REJECT;
        return i;
      }
    }
  }
}

#define KEY(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)

/* The field a key names in table `t`, -1: none we read. */
static int keyField(int t, const uint8_t *k, size_t len) {
  if (t == T_RECORD) {
    switch (len) {
      case 7: return KEY("eventID") ? F_ID : -1;
      case 9:
        if (KEY("eventTime")) return F_TIME;
        if (KEY("eventName")) return F_NAME;
        if (KEY("awsRegion")) return F_REGION;
        if (KEY("userAgent")) return F_UA;
        if (KEY("errorCode")) return F_ERRCODE;
        if (KEY("resources")) return F_RES;
        return -1;
      case 11: return KEY("eventSource") ? F_SOURCE : -1;
      case 12:
        if (KEY("errorMessage")) return F_ERRMSG;
        if (KEY("userIdentity")) return F_UI;
        return -1;
      case 15: return KEY("sourceIPAddress") ? F_IP : -1;
      case 17: return KEY("requestParameters") ? F_RP : -1;
      case 18: return KEY("recipientAccountId") ? F_RECIPIENT : -1;
      default: return -1;
    }
  }
  if (t == T_UI) {
    switch (len) {
      case 3: return KEY("arn") ? F_UI_ARN : -1;
      case 4: return KEY("type") ? F_UI_TYPE : -1;
      case 8: return KEY("userName") ? F_UI_USER : -1;
      case 9:
        if (KEY("accountId")) return F_UI_ACCOUNT;
        if (KEY("invokedBy")) return F_UI_INVOKEDBY;
        return -1;
      case 11:
        if (KEY("principalId")) return F_UI_PID;
        if (KEY("accessKeyId")) return F_UI_AKID;
        return -1;
      case 14: return KEY("sessionContext") ? K_SC : -1;
      case 28: return KEY("sessionCredentialFromConsole") ? F_UI_CONSOLE : -1;
      default: return -1;
    }
  }
  if (t == T_SC) {
    switch (len) {
      case 10: return KEY("attributes") ? K_ATTR : -1;
      case 13: return KEY("sessionIssuer") ? K_SI : -1;
      case 14: return KEY("sourceIdentity") ? F_SC_SOURCEID : -1;
      default: return -1;
    }
  }
  if (t == T_SI) {
    switch (len) {
      case 3: return KEY("arn") ? F_SI_ARN : -1;
      case 8: return KEY("userName") ? F_SI_USER : -1;
      case 9: return KEY("accountId") ? F_SI_ACCOUNT : -1;
      default: return -1;
    }
  }
  if (t == T_ATTR) return KEY("mfaAuthenticated") ? F_MFA : -1;
  switch (len) {
    case 4:
      if (KEY("name")) return F_RP_PNAME;
      if (KEY("path")) return F_RP_PATH;
      return -1;
    case 5: return KEY("names") ? F_RP_PNAMES : -1;
    case 7: return KEY("roleArn") ? F_RP_ROLEARN : -1;
    case 8: return KEY("secretId") ? F_RP_SECRETID : -1;
    case 12:
      if (KEY("instanceType")) return F_RP_ITYPE;
      if (KEY("secretIdList")) return F_RP_SECRETLIST;
      return -1;
    default: return -1;
  }
}

static inline int32_t *field(Walk *w, int32_t base, int f) { return w->meta + base + R_FIELDS + f * 3; }

static inline int d2(const uint8_t *b) {
  int x = b[0] - '0', y = b[1] - '0';
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
}

/*
 * isoTime of record-bytes.ts in whole seconds since 1970 for `YYYY-MM-DDTHH:MM:SSZ`; 0 for any
 * other form and for times before 1970-01-01T00:00:01Z or past 2106 (JavaScript then computes it).
 */
static uint32_t isoSeconds(const uint8_t *b, size_t s, size_t e) {
  static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
  b += s;
  if (e - s != 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != 'Z') return 0;
  int c1 = d2(b), c2 = d2(b + 2), mo = d2(b + 5), d = d2(b + 8), h = d2(b + 11), mi = d2(b + 14), se = d2(b + 17);
  if (c1 < 0 || c2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return 0;
  int y = c1 * 100 + c2;
  if (y < 1970 || y > 2105) return 0;
  int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  int dim = mo == 2 ? (leap ? 29 : 28) : mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
  if (d > dim) return 0;
  int yy = y - 1; /* positive: floor division is plain division */
  int64_t days = 365LL * (y - 1970) + (yy / 4 - yy / 100 + yy / 400 - 477) + before[mo - 1] + (mo > 2 && leap) + d - 1;
  int64_t secs = ((days * 24 + h) * 60 + mi) * 60 + se;
  return secs > 0 && secs <= 0xffffffffLL ? (uint32_t)secs : 0;
}

/*
 * Intern the values of a record in a batch at its end (internNow), in the order they were met,
 * so the ids are the same: the table is larger than the caches, and its slots, fetched ahead
 * here, then arrive while the walk goes on through the record instead of one after the other.
 */
/*
 * User agents' families: computeUaFamily of events/normalize.ts on the bytes of a user agent,
 * as the number of the family in UA_FAMILIES of record-bytes.ts (keep in step), for the families
 * that are fixed strings; 0 for the others ("http-client:..." and "other:...", built from the
 * user agent's text) and for any user agent with a byte above 0x7f (JavaScript works those out).
 * Worked out once per intern id (Table.fams): most user agents recur, and the regular
 * expressions cost the main thread ~3 us for each new one (realistic 1M: 40,000 of them).
 */
static const char *const OFFENSIVE[] = {"pacu",       "cloudgoat", "kali",          "parrot",     "pentoo",  "blackarch", "cloudsploit",
                                        "scoutsuite", "prowler",   "weirdaal",      "cloudfox",   "trufflehog", "endgame", "cloudmapper",
                                        "nmap",       "sqlmap",    "masscan",       "aws_consoler", "awspx",   "pmapper",   "enumerate-iam",
                                        "cloudbrute", "s3scanner", "nuclei",        "metasploit", "powershell-empire", "zgrab"};
#define N_OFFENSIVE 27
static const uint8_t OFFENSIVE_LEN[N_OFFENSIVE] = {4, 9, 4, 6, 6, 9, 11, 10, 7, 8, 8, 10, 7, 11, 4, 6, 7, 12, 5, 7, 13, 10, 9, 6, 10, 17, 5};
static const char *const SDKS[] = {"go-v2", "go", "java", "js", "nodejs", "ruby", "dotnet", "php", "rust", "cpp", "kotlin", "swift"};
#define N_SDKS 12
enum {
  UA_JS = 0, UA_NONE = 1, UA_OFFENSIVE = 2, UA_TERRAFORM = UA_OFFENSIVE + N_OFFENSIVE, UA_CLI, UA_PYTHON = UA_CLI + 10, UA_SDK,
  UA_SDK_ANY = UA_SDK + N_SDKS, UA_BROWSER, UA_CONSOLE, UA_INTERNAL, UA_SERVICE, UA_SSM, UA_TOOL, UA_OTHER
};

static inline int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }
static inline int isAlpha(int c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
/* p[0, n) starts with lit[0, k) (case-insensitively: `ci`). */
static inline int prefixN(const uint8_t *p, size_t n, const char *lit, size_t k, int ci) {
  if (k > n) return 0;
  for (size_t i = 0; i < k; i++)
    if (ci ? lower(p[i]) != lower((uint8_t)lit[i]) : p[i] != (uint8_t)lit[i]) return 0;
  return 1;
}
/* lit[0, k) occurs in p[0, n). */
static inline int containsN(const uint8_t *p, size_t n, const char *lit, size_t k) {
#if defined(__GLIBC__)
  return memmem(p, n, lit, k) != NULL;
#else
  for (size_t i = 0; i + k <= n; i++)
    if (p[i] == (uint8_t)lit[0] && memcmp(p + i, lit, k) == 0) return 1;
  return 0;
#endif
}
/* p[0, n) starts with the OFFENSIVE token `lit` (k bytes, lower case: letters, digits, '-' and '_'), case-insensitively. */
static inline int tokenAt(const uint8_t *p, size_t n, const char *lit, size_t k) {
  if (k > n) return 0;
  for (size_t i = 2; i < k; i++) { /* the first two bytes matched already (OFFENSIVE_FIRST, _SECOND) */
    int l = (uint8_t)lit[i];
    if (p[i] != l && !(l >= 'a' && l <= 'z' && (p[i] | 0x20) == l)) return 0;
  }
  return 1;
}
#define prefix(p, n, lit, ci) prefixN(p, n, lit, sizeof(lit) - 1, ci)
#define contains(p, n, lit) containsN(p, n, lit, sizeof(lit) - 1)
#define equals(p, n, lit) ((n) == sizeof(lit) - 1 && memcmp(p, lit, sizeof(lit) - 1) == 0)
#define T(k) (1u << (k))
/* The OFFENSIVE tokens (their bits) that start with each letter, either case. */
#define FIRST(c, m) [c] = (m), [c - 32] = (m)
static const uint32_t OFFENSIVE_FIRST[256] = {
    FIRST('p', T(0) | T(3) | T(4) | T(8) | T(19) | T(25)), FIRST('c', T(1) | T(6) | T(10) | T(13) | T(21)), FIRST('k', T(2)), FIRST('b', T(5)),
    FIRST('s', T(7) | T(15) | T(22)), FIRST('w', T(9)), FIRST('t', T(11)), FIRST('e', T(12) | T(20)), FIRST('n', T(14) | T(23)),
    FIRST('m', T(16) | T(24)), FIRST('a', T(17) | T(18)), FIRST('z', T(26)),
};
/* ... and whose second byte is each byte, either case: a position is a candidate where both agree. */
static const uint32_t OFFENSIVE_SECOND[256] = {
    ['3'] = T(22),          FIRST('a', T(0) | T(2) | T(3) | T(16)), FIRST('c', T(7)),  FIRST('e', T(4) | T(9) | T(24)),
    FIRST('g', T(26)),      FIRST('l', T(1) | T(5) | T(6) | T(10) | T(13) | T(21)), FIRST('m', T(14) | T(19)),
    FIRST('n', T(12) | T(20)), FIRST('o', T(25)), FIRST('q', T(15)), FIRST('r', T(8) | T(11)), FIRST('u', T(23)),
    FIRST('w', T(17) | T(18)),
};

static int uaFamily(const uint8_t *b, size_t s, size_t e) {
  if (s == e) return UA_NONE; /* "" */
  for (size_t i = s; i < e; i++)
    if (b[i] >= 0x80) return UA_JS;
  /* trim(): of ASCII whitespace only spaces can be here (the others are control characters, escaped in JSON: such records are parsed). */
  while (s < e && b[s] == ' ') s++;
  while (e > s && b[e - 1] == ' ') e--;
  if (e - s >= 2 && b[s] == '[' && b[e - 1] == ']') s++, e--;
  const uint8_t *p = b + s;
  size_t n = e - s;
  /* OFFENSIVE_UA: the leftmost match, and at it the first alternative that matches; the family is the token (lower case). */
  for (size_t i = 0; i + 4 <= n; i++) /* the shortest token has 4 bytes */
    for (uint32_t m = OFFENSIVE_FIRST[p[i]] & OFFENSIVE_SECOND[p[i + 1]]; m != 0; m &= m - 1) {
      int k = __builtin_ctz(m); /* in OFFENSIVE's order, as the alternation tries them */
      if (tokenAt(p + i, n - i, OFFENSIVE[k], OFFENSIVE_LEN[k])) return UA_OFFENSIVE + k;
    }
  if (contains(p, n, "HashiCorp") || contains(p, n, "Terraform/")) return UA_TERRAFORM;
  if (n >= 9 && prefix(p, n, "aws-cli/", 0) && p[8] >= '0' && p[8] <= '9') return UA_CLI + (p[8] - '0');
  if (contains(p, n, "Boto3/") || contains(p, n, "Botocore/") || contains(p, n, "botocore/")) return UA_PYTHON;
  if (prefix(p, n, "aws-sdk-", 0))
    for (int k = 0; k < N_SDKS; k++)
      if (prefixN(p + 8, n - 8, SDKS[k], strlen(SDKS[k]), 0)) return UA_SDK + k;
  if (prefix(p, n, "aws-sdk-java", 1) || prefix(p, n, "aws-sdk-js", 1)) return UA_SDK_ANY;
  if (prefix(p, n, "Mozilla/", 0)) return UA_BROWSER;
  if (equals(p, n, "console.amazonaws.com") || equals(p, n, "signin.amazonaws.com") || equals(p, n, "console.ec2.amazonaws.com") ||
      contains(p, n, "S3Console/") || contains(p, n, "RDS Console") || contains(p, n, "aws-internal/"))
    return UA_CONSOLE;
  if (equals(p, n, "AWS Internal")) return UA_INTERNAL;
  if (n >= 14 && memcmp(p + n - 14, ".amazonaws.com", 14) == 0) return UA_SERVICE;
  if (contains(p, n, "amazon-ssm-agent")) return UA_SSM;
  static const char *const HTTP[] = {"curl", "Wget", "python-requests", "Go-http-client", "okhttp", "PostmanRuntime", "insomnia"};
  for (int k = 0; k < 7; k++)
    if (prefixN(p, n, HTTP[k], strlen(HTTP[k]), 1)) return UA_JS; /* "http-client:" + its name */
  if (prefix(p, n, "aws-", 1)) return UA_TOOL;
  if (n > 0 && isAlpha(p[0])) return UA_JS; /* "other:" + its first characters */
  return UA_OTHER;
}

/* The family of intern id `id` (bytes [s, e)): worked out the first time; -1 without memory. */
static int familyOf(Table *T, int32_t id, const uint8_t *b, size_t s, size_t e) {
  if ((uint32_t)id >= T->famCap) {
    uint32_t cap = T->famCap ? T->famCap : 1024;
    while (cap <= (uint32_t)id) cap *= 2;
    uint8_t *f = realloc(T->fams, cap);
    if (!f) return -1;
    memset(f + T->famCap, 0, cap - T->famCap);
    T->fams = f;
    T->famCap = cap;
  }
  if (T->fams[id] == 0) T->fams[id] = (uint8_t)(uaFamily(b, s, e) + 1);
  return T->fams[id] - 1;
}

static void internNow(Walk *w) {
  for (int k = 0; k < w->pending; k++) {
    const Pending *p = &w->pend[k];
    if ((p->o[2] = intern(w->table, w->b, p->s, p->e, p->h)) < 0) w->err = REJECT; /* out of memory: the general path */
    else if (p->fam && (p->fam[2] = familyOf(w->table, p->o[2], w->b, p->s, p->e)) < 0) w->err = REJECT;
  }
  w->pending = 0;
}

static inline void internLater(Walk *w, int32_t *o, int32_t *fam, size_t s, size_t e) {
  uint32_t h = internHash(w->table, w->b, s, e);
  __builtin_prefetch(&w->table->slots[h & w->table->mask]);
  if (w->pending == MAX_PENDING) internNow(w);
  w->pend[w->pending++] = (Pending){o, fam, (uint32_t)s, (uint32_t)e, h};
}

/* A string value we read: its span and hash in field `f`. */
static size_t capture(Walk *w, size_t i, int32_t base, int f) {
  size_t s = i + 1;
  int escaped = 0;
  size_t e = strBody(w, s, &escaped);
  if (w->err) return e;
  if (escaped) w->meta[base + R_FLAGS] |= COMPLEX; /* let JSON.parse decode it */
  int32_t *o = field(w, base, f);
  o[0] = (int32_t)s;
  o[1] = (int32_t)e;
  if (f == F_TIME) o[2] = w->intern ? (int32_t)isoSeconds(w->b, s, e) : 0; /* seconds since 1970 (as uint32), 0: JavaScript computes it */
  else if (f == F_ID) o[2] = 0; /* event ids are not interned */
  else if (!w->intern) o[2] = spanHash(w->b, s, e);
  else if (f == F_ERRMSG) o[2] = -1; /* messages are often unique: decoded when needed, not kept */
  else internLater(w, o, f == F_UA ? field(w, base, F_UA_FAM) : NULL, s, e);
  return e + 1;
}

/* Forget what an earlier userIdentity of the record said (a later one replaces it whole). */
static void forgetIdentity(Walk *w, int32_t base) {
  field(w, base, F_UI_TYPE)[0] = field(w, base, F_UI_ARN)[0] = field(w, base, F_UI_INVOKEDBY)[0] = -1;
  for (int k = F_UI_PID; k < NF; k++) field(w, base, k)[0] = -1;
  w->meta[base + R_FLAGS] &= ~UI_PARSE;
}

/* A record, its userIdentity or its requestParameters (table `t`) at `i`. */
static size_t fields(Walk *w, size_t i, int32_t base, int t) {
  i++;
  int c = next(w, &i);
  if (c == '}') return i + 1;
  for (;;) {
    if (c != '"') {
      w->err = REJECT;
      return i;
    }
    size_t ks = i + 1;
    int escaped = 0;
    size_t ke = strBody(w, ks, &escaped);
    if (w->err) return ke;
    int f = -1;
    if (escaped) w->meta[base + R_FLAGS] |= COMPLEX; /* an escaped key may spell a field's name */
    else f = keyField(t, w->b + ks, ke - ks);
    i = colon(w, ke + 1, &c);
    if (w->err) return i;
    if (f < 0) {
      if (c == '"') {
        int dummy = 0;
        i = str(w, i, &dummy);
      } else i = value(w, i);
    } else if (f >= F_UI_PID && f < NF) {
      /* A string of the principal's: its span only; anything else and userIdentity is parsed. */
      if (c == '"') {
        size_t s = i + 1;
        int escaped = 0;
        size_t e = strBody(w, s, &escaped);
        if (w->err) return e;
        if (escaped) w->meta[base + R_FLAGS] |= UI_PARSE;
        int32_t *o = field(w, base, f);
        o[0] = (int32_t)s;
        o[1] = (int32_t)e;
        o[2] = 0;
        i = e + 1;
      } else {
        w->meta[base + R_FLAGS] |= UI_PARSE;
        i = value(w, i);
      }
    } else if (f >= K_SC) {
      /* sessionContext, its sessionIssuer or attributes: the last of each wins, as with JSON.parse. */
      if (c == '{') {
        int from = f == K_SC ? F_SC_SOURCEID : f == K_SI ? F_SI_USER : F_MFA;
        int to = f == K_SI ? F_SI_ACCOUNT : F_MFA;
        for (int k = from; k <= to; k++) field(w, base, k)[0] = -1;
        i = fields(w, i, base, f == K_SC ? T_SC : f == K_SI ? T_SI : T_ATTR);
      } else {
        w->meta[base + R_FLAGS] |= UI_PARSE;
        i = value(w, i);
      }
    } else if (f == F_UI) {
      int32_t *o = field(w, base, F_UI);
      if (c == '{') {
        if (o[0] >= 0) forgetIdentity(w, base); /* the last userIdentity wins */
        o[0] = (int32_t)i;
        i = fields(w, i, base, T_UI);
        o[1] = (int32_t)i;
      } else {
        if (o[0] >= 0) forgetIdentity(w, base);
        o[0] = -1;
        w->meta[base + R_FLAGS] |= COMPLEX;
        i = value(w, i);
      }
    } else if (f == F_RP) {
      int32_t *o = field(w, base, F_RP);
      for (int k = F_RP_ROLEARN; k <= F_RP_PATH; k++) field(w, base, k)[0] = -1; /* the last requestParameters wins */
      o[0] = (int32_t)i;
      if (c == '{') {
        o[2] = 1;
        i = fields(w, i, base, T_RP);
      } else if (c == 'n') {
        o[2] = 0;
        i = lit(w, i, "null", 4);
      } else {
        w->meta[base + R_FLAGS] |= COMPLEX;
        i = value(w, i);
      }
      o[1] = (int32_t)i;
    } else if (f == F_RES) {
      /* Any value, its span only (the last resources wins); JSON.parse of the span reads it. */
      int32_t *o = field(w, base, F_RES);
      o[0] = (int32_t)i;
      i = value(w, i);
      o[1] = (int32_t)i;
      o[2] = 0;
    } else if (c == '"') i = capture(w, i, base, f);
    else {
      w->meta[base + R_FLAGS] |= COMPLEX; /* not a string: JSON.parse and the full checks decide */
      i = value(w, i);
    }
    if (w->err) return i;
    if (i + 1 < w->n && w->b[i] == ',' && w->b[i + 1] == '"') { /* the next key, no whitespace: one bounds check */
      i++;
      c = '"';
      continue;
    }
    c = next(w, &i);
    if (c == ',') {
      i++;
      c = next(w, &i);
    } else if (c == '}') return i + 1;
    else {
      w->err = REJECT;
      return i;
    }
  }
}

static int32_t newRecord(Walk *w, size_t start) {
  size_t base = (size_t)w->count * STRIDE;
  if (base + STRIDE > w->metaLen) {
    w->err = FULL;
    return 0;
  }
  int32_t *m = w->meta + base;
  memset(m, 0xff, STRIDE * sizeof *m); /* every slot -1 (fields absent): one fill */
  m[R_START] = (int32_t)start;
  m[R_FLAGS] = 0;
  w->count++;
  return (int32_t)base;
}

static size_t records(Walk *w, size_t i) {
  i = ws(w, i + 1);
  if (at(w, i) == ']') return i + 1;
  for (;;) {
    int32_t base = newRecord(w, i);
    if (w->err) return i;
    if (at(w, i) == '{') i = fields(w, i, base, T_RECORD);
    else {
      w->meta[base + R_FLAGS] = COMPLEX; /* not an object: JSON.parse and the record checks say so */
      i = value(w, i);
    }
    if (w->pending) internNow(w);
    if (w->err) return i;
    w->meta[base + R_END] = (int32_t)i;
    i = ws(w, i);
    int c = at(w, i);
    if (c == ',') i = ws(w, i + 1);
    else if (c == ']') return i + 1;
    else {
      w->err = REJECT;
      return i;
    }
  }
}

static int32_t walkBody(Walk *w);

static int32_t walkDocument(Walk *w) {
  int32_t r = walkBody(w);
  if (w->pending) internNow(w); /* a document cut short: what was read is interned as before */
  return w->err ? w->err : r;
}

static int32_t walkBody(Walk *w) {
  size_t i = ws(w, 0);
  if (at(w, i) != '{') return REJECT;
  int found = 0;
  i = ws(w, i + 1);
  if (at(w, i) != '}') {
    for (;;) {
      if (at(w, i) != '"') return REJECT;
      size_t ks = i + 1;
      int escaped = 0;
      i = str(w, i, &escaped);
      if (w->err) return w->err;
      if (escaped) return REJECT; /* an escaped key may spell "Records" */
      size_t ke = i - 1;
      i = ws(w, i);
      if (at(w, i) != ':') return REJECT;
      i = ws(w, i + 1);
      if (ke - ks == 7 && memcmp(w->b + ks, "Records", 7) == 0) {
        if (found || at(w, i) != '[') return REJECT; /* a second Records, or not an array */
        found = 1;
        i = records(w, i);
      } else i = value(w, i);
      if (w->err) return w->err;
      i = ws(w, i);
      int c = at(w, i);
      if (c == ',') i = ws(w, i + 1);
      else if (c == '}') break;
      else return REJECT;
    }
  }
  i = ws(w, i + 1);
  if (i != w->n || !found) return REJECT;
  return w->count;
}

#ifdef WALK_GUNZIP
/*
 * The length of what the one gzip member `src` is inflates to, written into `dst`, when the
 * member is all of `src`, valid and fits in `dst`; -1 otherwise (a corrupt, cut or multi-member
 * file, one larger than `dst`, a header with its own CRC): the caller then inflates it with
 * Node's zlib, which reads several members and says what is wrong. libdeflate checks the
 * member's CRC-32 and length (ISIZE) like zlib, and never writes past `dst`: a gzip bomb stops at
 * its size. It does not check a header CRC (FHCRC), which zlib does: such (rare) files go to zlib,
 * so that both accept the same files. Fuzzed by native/fuzz/gunzip-harness.c.
 */
static double gunzipMember(struct libdeflate_decompressor *d, const uint8_t *src, size_t ns, uint8_t *dst, size_t nd) {
  size_t inN = 0, outN = 0;
  if (ns >= 18 && (src[3] & 0x02) == 0 /* FHCRC */ && libdeflate_gzip_decompress_ex(d, src, ns, dst, nd, &inN, &outN) == LIBDEFLATE_SUCCESS && inN == ns)
    return (double)outN;
  return -1;
}
#endif

#ifndef RECORD_WALK_NO_NAPI
/* What each thread keeps (each worker thread loads the addon into its own environment). */
typedef struct {
  Table table;
#ifdef WALK_GUNZIP
  struct libdeflate_decompressor *inflater; /* made at the first gunzip */
#endif
} Instance;

static Instance *instance(napi_env env) {
  void *t = NULL;
  if (napi_get_instance_data(env, &t) != napi_ok || !t) {
    napi_throw_error(env, NULL, "record_walk: no instance data");
    return NULL;
  }
  return (Instance *)t;
}

/* This thread's table. */
static Table *table(napi_env env) {
  Instance *I = instance(env);
  return I ? &I->table : NULL;
}

static void instanceFinalize(napi_env env, void *data, void *hint) {
  Instance *I = data;
  internFree(&I->table);
#ifdef WALK_GUNZIP
  libdeflate_free_decompressor(I->inflater);
#endif
  free(I);
}

static napi_value Walk_(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3], out;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "walk(bytes: Uint8Array, meta: Int32Array, intern?: boolean)");
    return NULL;
  }
  napi_typedarray_type tb, tm;
  size_t nb, nm, ob, om;
  void *db, *dm;
  napi_value ab;
  if (napi_get_typedarray_info(env, args[0], &tb, &nb, &db, &ab, &ob) != napi_ok || tb != napi_uint8_array ||
      napi_get_typedarray_info(env, args[1], &tm, &nm, &dm, &ab, &om) != napi_ok || tm != napi_int32_array) {
    napi_throw_type_error(env, NULL, "walk(bytes: Uint8Array, meta: Int32Array)");
    return NULL;
  }
  if (nb > 0x7fffffff) {
    napi_create_int32(env, REJECT, &out); /* offsets are int32: the general path reads it */
    return out;
  }
  bool intern = true;
  if (argc >= 3) napi_get_value_bool(env, args[2], &intern);
  Table *T = table(env);
  if (!T) return NULL;
  if (intern && (T->n >= MAX_ENTRIES || T->poolUsed >= MAX_BYTES)) internFree(T); /* start afresh (a new generation) */
  if (intern && !T->slots && !internInit(T)) {
    napi_create_int32(env, REJECT, &out); /* no memory for the table: the general path reads it */
    return out;
  }
  Walk w = {.b = (const uint8_t *)db, .n = nb, .meta = (int32_t *)dm, .metaLen = nm, .intern = intern, .table = T};
  int32_t r = walkDocument(&w);
  napi_create_int32(env, w.err ? w.err : r, &out);
  return out;
}

/* The intern table's generation: it changes whenever ids given before no longer hold. */
static napi_value Generation(napi_env env, napi_callback_info info) {
  Table *T = table(env);
  if (!T) return NULL;
  napi_value out;
  napi_create_uint32(env, T->generation, &out);
  return out;
}

/* Free the intern table (a new generation). */
static napi_value Reset(napi_env env, napi_callback_info info) {
  Table *T = table(env);
  if (T) internFree(T);
  return NULL;
}

/*
 * For tests, not scans (they leave the table and the walk as they are): internStats() says how
 * well this thread's table spreads its values, read from the slots as they lie (nothing is counted
 * while walking, so the walk pays nothing for it): { entries, slots, displacement (the probes all
 * lookups of the values in it take beyond the first, summed), longest (the most any one takes),
 * seed (a BigInt) }. A degraded hash (one that skips bytes, or a fixed seed) lets crafted values
 * share a slot, and their displacement grows with the square of their number.
 */
static napi_value InternStats(napi_env env, napi_callback_info info) {
  Table *T = table(env);
  if (!T) return NULL;
  double displacement = 0;
  uint32_t longest = 0, slots = T->slots ? T->mask + 1 : 0;
  for (uint32_t i = 0; i < slots; i++) {
    if (T->slots[i].id1 == 0) continue;
    uint32_t d = (i - T->slots[i].hash) & T->mask; /* from its home slot, wrapping */
    displacement += d;
    if (d > longest) longest = d;
  }
  napi_value out, v;
  napi_create_object(env, &out);
  napi_create_uint32(env, T->n, &v);
  napi_set_named_property(env, out, "entries", v);
  napi_create_uint32(env, slots, &v);
  napi_set_named_property(env, out, "slots", v);
  napi_create_double(env, displacement, &v);
  napi_set_named_property(env, out, "displacement", v);
  napi_create_uint32(env, longest, &v);
  napi_set_named_property(env, out, "longest", v);
  napi_create_bigint_uint64(env, T->seed, &v);
  napi_set_named_property(env, out, "seed", v);
  return out;
}

/* For tests: internHash(bytes: Uint8Array, seed: bigint), the table's hash of `bytes` under `seed`. */
static napi_value InternHash(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2], out;
  napi_typedarray_type tb;
  size_t nb, ob;
  void *db;
  napi_value ab;
  Table t = {0};
  bool lossless = true;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_typedarray_info(env, args[0], &tb, &nb, &db, &ab, &ob) != napi_ok || tb != napi_uint8_array ||
      napi_get_value_bigint_uint64(env, args[1], &t.seed, &lossless) != napi_ok) {
    napi_throw_type_error(env, NULL, "internHash(bytes: Uint8Array, seed: bigint)");
    return NULL;
  }
  napi_create_uint32(env, internHash(&t, (const uint8_t *)db, 0, nb), &out);
  return out;
}

#ifdef WALK_GUNZIP
/*
 * gunzip(src: Uint8Array, dst: Uint8Array): gunzipMember (above), or -1 without memory for the
 * decompressor. Why here: Node's gunzipSync allocates a new buffer for every file (fresh pages
 * each time, and the garbage collector's reaction to them cost more than the inflating), and
 * libdeflate (vendored, native/libdeflate) inflates a whole buffer about 1.7x faster than zlib.
 */
static napi_value Gunzip_(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2], out;
  napi_typedarray_type ts, td;
  size_t ns, nd, os, od;
  void *ds, *dd;
  napi_value ab;
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_typedarray_info(env, args[0], &ts, &ns, &ds, &ab, &os) != napi_ok || ts != napi_uint8_array ||
      napi_get_typedarray_info(env, args[1], &td, &nd, &dd, &ab, &od) != napi_ok || td != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "gunzip(src: Uint8Array, dst: Uint8Array)");
    return NULL;
  }
  Instance *I = instance(env);
  if (!I) return NULL;
  if (!I->inflater) I->inflater = libdeflate_alloc_decompressor();
  napi_create_double(env, I->inflater ? gunzipMember(I->inflater, ds, ns, dd, nd) : -1, &out);
  return out;
}
#endif

static napi_value Init(napi_env env, napi_value exports) {
  Instance *t = calloc(1, sizeof *t);
  if (!t || napi_set_instance_data(env, t, instanceFinalize, NULL) != napi_ok) {
    free(t);
    napi_throw_error(env, NULL, "record_walk: out of memory");
    return NULL;
  }
  napi_value fn;
  napi_create_function(env, "walk", NAPI_AUTO_LENGTH, Walk_, NULL, &fn);
  napi_set_named_property(env, exports, "walk", fn);
  napi_create_function(env, "generation", NAPI_AUTO_LENGTH, Generation, NULL, &fn);
  napi_set_named_property(env, exports, "generation", fn);
  napi_create_function(env, "reset", NAPI_AUTO_LENGTH, Reset, NULL, &fn);
  napi_set_named_property(env, exports, "reset", fn);
  napi_create_function(env, "internStats", NAPI_AUTO_LENGTH, InternStats, NULL, &fn);
  napi_set_named_property(env, exports, "internStats", fn);
  napi_create_function(env, "internHash", NAPI_AUTO_LENGTH, InternHash, NULL, &fn);
  napi_set_named_property(env, exports, "internHash", fn);
#ifdef WALK_GUNZIP
  napi_create_function(env, "gunzip", NAPI_AUTO_LENGTH, Gunzip_, NULL, &fn);
  napi_set_named_property(env, exports, "gunzip", fn);
#endif
  napi_value v;
  napi_create_int32(env, WALK_ABI, &v);
  napi_set_named_property(env, exports, "abi", v);
  napi_create_int32(env, STRIDE, &v);
  napi_set_named_property(env, exports, "stride", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
#endif /* RECORD_WALK_NO_NAPI */
