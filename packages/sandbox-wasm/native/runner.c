/*
 * The QuickJS runner for @mcp-optimizer/sandbox-wasm: a wasm32-wasi command that speaks the
 * core bridge protocol (docs/bridge-protocol.md) over its stdin and stdout.
 *
 * Lines in (host to guest):
 *   {"t":"boot","shims":"<src>","shimParts":{"<name>":"<src>",...},"prelude":"<src>","engine":"<name>"}
 *                                                                       first line, once
 *   {"t":"limits","run":"<id>","timeoutMs":N,"memoryMb":N}              before each run frame
 *   {"t":"run",...} / {"t":"result",...}                                 handed to the prelude
 *   {"t":"cancel","run":"<id>"}                                          the host gave up a run
 * Lines out: whatever the prelude sends (ready once, then per run: call and log frames and
 * exactly one terminal frame, done or error).
 *
 * A run that ended clean leaves its realm to the session's next run (realm_fit: the prelude
 * put the globals back, the built-ins are frozen, no job or timer is left; ADR 0029); any
 * other run is followed by a fresh realm: a new QuickJS context (and a new runtime after a run
 * that did not end by itself), with the shims and the prelude evaluated from bytecode compiled
 * once at boot. Nothing a program does (globals, overwritten built-ins, pending jobs, timers)
 * outlives its run; `state` comes in with the run frame and goes out with the done frame. A
 * fresh realm is made as soon as a run has ended, before the runner waits for the next run.
 *
 * The runner owns what JavaScript cannot do by itself: the wall-clock deadline (an interrupt
 * handler, and the waits), the memory limit (JS_SetMemoryLimit), timers (the shims keep the
 * list, the loop waits with poll()) and the job queue (JS_ExecutePendingJob while awaiting host
 * replies).
 */
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quickjs.h"

#define OUT_FLUSH_BYTES (64 * 1024)
/* Deepest nesting of arrays and objects in a frame: the host's JSON functions recurse, so
 * deeper values are refused here with an error the program can act on (the host side stops a
 * guest that writes one anyway). */
#define MAX_FRAME_DEPTH 1000
/* Heap ceiling of a realm until the run's limits frame sets its own. */
#define DEFAULT_MEMORY_BYTES ((size_t)256 * 1024 * 1024)

/* The realm of the current (or next) run. */
static JSRuntime *rt;
static JSContext *ctx;
static JSValue prelude_fn = JS_UNDEFINED; /* guestMain */
static JSValue host_obj = JS_UNDEFINED;   /* { send, engine } handed to guestMain */
static JSValue endpoint = JS_UNDEFINED;   /* { receive, reportUncaught, busy } */
static JSValue timers = JS_UNDEFINED;     /* { next(), run(), reset() } from the shims */

/* What every realm is made from: compiled at boot, kept for the guest's life. */
static char *shims_src, *prelude_src, *engine_name;
static size_t shims_src_len, prelude_src_len;
static uint8_t *shims_bc, *prelude_bc;
static size_t shims_bc_len, prelude_bc_len;

/* Shim parts: evaluated in a realm only when a program first uses them (native.load). */
#define MAX_SHIM_PARTS 16
static struct {
  char *name;
  char *src;
  size_t src_len;
  uint8_t *bc;
  size_t bc_len;
} parts[MAX_SHIM_PARTS];
static int part_count;

/* Frames reach the host only while this is set: during a run until its terminal frame, and
 * while the first realm announces the guest (ready). */
static int frames_open;

static int64_t deadline_ms;  /* 0: no deadline */
/*
 * Set when the deadline passed: from then on every piece of JavaScript is interrupted (a
 * catch or finally that would go on after the interrupt, the program's other jobs) until
 * control is back in the runner, which ends the run and drops its realm.
 */
static int aborting;
/*
 * Set when the memory limit (or the allocator) refused an allocation during the current run:
 * the only out-of-memory reported as SANDBOX_MEMORY. A program can throw an
 * InternalError("out of memory") of its own; that is its own error.
 */
static int alloc_refused;
static char run_id[256];     /* the run the limits frame announced */
static int run_active;       /* a run frame was handed over and the run has not ended */
static int run_ended;        /* its terminal frame was sent */
static double pending_timeout_ms;
static double pending_memory_mb;

/* Output buffer: frames are written in batches, flushed before the runner waits. */
static char *out_buf;
static size_t out_len, out_cap;

/* Input buffer. */
static char *in_buf;
static size_t in_len, in_cap;

/*
 * The heap's break, in place of wasi-libc's sbrk (which grows the memory page by page and
 * leaves the linker's initial memory past __heap_base unused). Every memory.grow makes V8
 * account the whole memory again as a new external buffer, and the guest thread's small heap
 * answered the ~40 grows of a boot with as many full collections (~60 ms of the first
 * execution). Here the heap starts in the initial memory (sized by the build to hold a boot
 * and a typical run) and grows in steps of at least SBRK_STEP_BYTES.
 */
#define SBRK_STEP_BYTES ((uintptr_t)4 * 1024 * 1024)
#define WASM_PAGE_BYTES ((uintptr_t)65536)
extern unsigned char __heap_base;
static uintptr_t brk_now, brk_end;

void *sbrk(intptr_t increment) {
  if (brk_now == 0) {
    brk_now = (uintptr_t)&__heap_base;
    brk_end = __builtin_wasm_memory_size(0) * WASM_PAGE_BYTES;
  }
  if (increment < 0) {
    errno = EINVAL;
    return (void *)-1;
  }
  uintptr_t want = (uintptr_t)increment;
  if (want > brk_end - brk_now) {
    uintptr_t need = want - (brk_end - brk_now);
    uintptr_t step = need > SBRK_STEP_BYTES ? need : SBRK_STEP_BYTES;
    uintptr_t pages = (step + WASM_PAGE_BYTES - 1) / WASM_PAGE_BYTES;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
      /* Near the ceiling: what is needed, no more. */
      pages = (need + WASM_PAGE_BYTES - 1) / WASM_PAGE_BYTES;
      if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) {
        errno = ENOMEM;
        return (void *)-1;
      }
    }
    brk_end += pages * WASM_PAGE_BYTES;
  }
  void *old = (void *)brk_now;
  brk_now += want;
  return old;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_ms_precise(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void write_all(const char *data, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(1, data + off, len - off);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      exit(3); /* the host is gone */
    }
    off += (size_t)n;
  }
}

static void out_flush(void) {
  write_all(out_buf, out_len);
  out_len = 0;
}

static void out_write(const char *data, size_t len) {
  if (out_len + len + 1 > out_cap) {
    out_flush();
    if (len + 1 > out_cap) {
      /* One frame larger than the buffer: write it through. */
      write_all(data, len);
      write_all("\n", 1);
      return;
    }
  }
  memcpy(out_buf + out_len, data, len);
  out_len += len;
  out_buf[out_len++] = '\n';
  if (out_len >= OUT_FLUSH_BYTES) out_flush();
}

static int has_prefix(const char *line, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return len >= n && memcmp(line, prefix, n) == 0;
}

/* The terminal frame of the current run, written by the runner itself. */
static void out_error_frame(const char *code, const char *message) {
  char frame[1024];
  JSValue id = JS_NewString(ctx, run_id);
  JSValue idj = JS_JSONStringify(ctx, id, JS_UNDEFINED, JS_UNDEFINED);
  const char *ids = JS_IsException(idj) ? NULL : JS_ToCString(ctx, idj);
  int n = snprintf(frame, sizeof frame,
                   "{\"t\":\"error\",\"run\":%s,\"error\":{\"code\":\"%s\",\"name\":\"InternalError\",\"message\":\"%s\"}}",
                   ids ? ids : "\"\"", code, message);
  if (ids) JS_FreeCString(ctx, ids);
  JS_FreeValue(ctx, idj);
  JS_FreeValue(ctx, id);
  if (JS_IsException(idj)) JS_FreeValue(ctx, JS_GetException(ctx));
  if (n > 0 && (size_t)n < sizeof frame) out_write(frame, (size_t)n);
  run_ended = 1;
  frames_open = 0;
}

/* QuickJS's default allocator (js_def_* in quickjs.c), which also notes a refusal. */
#define RUNNER_MALLOC_OVERHEAD 8
static size_t runner_usable_size(const void *ptr) { return malloc_usable_size((void *)ptr); }
static void *runner_malloc(JSMallocState *s, size_t size) {
  if (s->malloc_size + size > s->malloc_limit) {
    alloc_refused = 1;
    return NULL;
  }
  void *ptr = malloc(size);
  if (!ptr) {
    alloc_refused = 1;
    return NULL;
  }
  s->malloc_count++;
  s->malloc_size += runner_usable_size(ptr) + RUNNER_MALLOC_OVERHEAD;
  return ptr;
}
static void runner_free(JSMallocState *s, void *ptr) {
  if (!ptr) return;
  s->malloc_count--;
  s->malloc_size -= runner_usable_size(ptr) + RUNNER_MALLOC_OVERHEAD;
  free(ptr);
}
static void *runner_realloc(JSMallocState *s, void *ptr, size_t size) {
  if (!ptr) return size == 0 ? NULL : runner_malloc(s, size);
  size_t old_size = runner_usable_size(ptr);
  if (size == 0) {
    s->malloc_count--;
    s->malloc_size -= old_size + RUNNER_MALLOC_OVERHEAD;
    free(ptr);
    return NULL;
  }
  if (s->malloc_size + size - old_size > s->malloc_limit) {
    alloc_refused = 1;
    return NULL;
  }
  ptr = realloc(ptr, size);
  if (!ptr) {
    alloc_refused = 1;
    return NULL;
  }
  s->malloc_size += runner_usable_size(ptr) - old_size;
  return ptr;
}
static const JSMallocFunctions runner_malloc_funcs = {
  runner_malloc, runner_free, runner_realloc, runner_usable_size,
};

static JSRuntime *new_runtime(void) {
  JSRuntime *r = JS_NewRuntime2(&runner_malloc_funcs, NULL);
  if (!r) exit(5);
  return r;
}

/* host.limitHit(): "memory" or "timeout" when this run met its limit, else "" (the prelude
 * reports those codes only when the runner says so, never from an error's name or text). */
static JSValue js_limit_hit(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return JS_NewString(c, aborting ? "timeout" : alloc_refused ? "memory" : "");
}

static int interrupt_handler(JSRuntime *r, void *opaque) {
  (void)r;
  (void)opaque;
  if (aborting) return 1;
  if (deadline_ms != 0 && now_ms() >= deadline_ms) {
    aborting = 1;
    return 1;
  }
  return 0;
}

/* Whether a JSON text nests arrays and objects deeper than MAX_FRAME_DEPTH (strings skipped). */
static int too_deep(const char *s, size_t len) {
  if (len <= MAX_FRAME_DEPTH) return 0;
  int depth = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') i++;
      else if (c == '"') in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_FRAME_DEPTH) return 1;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return 0;
}

/* send(line): one frame to the host. A run's terminal frame closes the run's output. */
static JSValue js_send(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  size_t len;
  if (argc < 1 || !frames_open) return JS_UNDEFINED;
  const char *s = JS_ToCStringLen(c, &len, argv[0]);
  if (!s) return JS_EXCEPTION;
  int terminal = run_active && (has_prefix(s, len, "{\"t\":\"done\"") ||
                                has_prefix(s, len, "{\"t\":\"error\""));
  if (too_deep(s, len)) {
    JS_FreeCString(c, s);
    if (terminal) {
      out_error_frame("RESULT_NOT_SERIALIZABLE",
                      "The returned value or state is nested deeper than 1000 levels; flatten it.");
      return JS_UNDEFINED;
    }
    return JS_ThrowRangeError(c, "A value nested deeper than %d levels cannot be sent to the host; flatten it.",
                              MAX_FRAME_DEPTH);
  }
  out_write(s, len);
  if (terminal) {
    run_ended = 1;
    frames_open = 0;
  }
  JS_FreeCString(c, s);
  return JS_UNDEFINED;
}

/* now(): monotonic milliseconds with a fractional part, for timers and performance.now(). */
static JSValue js_now(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  (void)argc;
  (void)argv;
  return JS_NewFloat64(c, now_ms_precise());
}

static void fatal(const char *what) {
  JSValue exc = ctx ? JS_GetException(ctx) : JS_UNDEFINED;
  const char *m = ctx ? JS_ToCString(ctx, exc) : NULL;
  fprintf(stderr, "runner: %s: %s\n", what, m ? m : "?");
  out_flush();
  exit(4);
}

/* Evaluates a boot script in the current realm, from bytecode once it has been compiled. */
static JSValue eval_boot_script(const char *src, size_t src_len, uint8_t **bc, size_t *bc_len,
                                const char *name) {
  JSValue fn;
  if (*bc) {
    fn = JS_ReadObject(ctx, *bc, *bc_len, JS_READ_OBJ_BYTECODE);
  } else {
    /* Without source text and debug information the bytecode is a fraction of the size,
     * and every realm reads it again: programs keep theirs (their stack traces need it). */
    JS_SetStripInfo(rt, JS_STRIP_DEBUG);
    fn = JS_Eval(ctx, src, src_len, name, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
    JS_SetStripInfo(rt, 0);
    if (!JS_IsException(fn)) {
      size_t len;
      uint8_t *buf = JS_WriteObject(ctx, &len, fn, JS_WRITE_OBJ_BYTECODE);
      if (!buf) return JS_EXCEPTION;
      *bc = malloc(len);
      if (!*bc) exit(5);
      memcpy(*bc, buf, len);
      *bc_len = len;
      js_free(ctx, buf);
    }
  }
  if (JS_IsException(fn)) return fn;
  return JS_EvalFunction(ctx, fn);
}

/* load(name, load): evaluates the shim part `name` in this realm and calls it with `load`. */
static JSValue js_load(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  const char *name = argc > 0 ? JS_ToCString(c, argv[0]) : NULL;
  if (!name) return JS_EXCEPTION;
  int i = 0;
  while (i < part_count && strcmp(parts[i].name, name) != 0) i++;
  JS_FreeCString(c, name);
  if (i == part_count) return JS_ThrowReferenceError(c, "no such shim part");
  /* Compiled the first time a realm of this guest needs it, from bytecode afterwards. */
  JSValue fn = eval_boot_script(parts[i].src, parts[i].src_len, &parts[i].bc, &parts[i].bc_len,
                                parts[i].name);
  if (parts[i].bc && parts[i].src) {
    free(parts[i].src);
    parts[i].src = NULL;
  }
  if (JS_IsException(fn)) return fn;
  JSValue r = JS_Call(c, fn, JS_UNDEFINED, argc > 1 ? 1 : 0, argv + 1);
  JS_FreeValue(c, fn);
  return r;
}

static JSValue call_method(JSValueConst obj, const char *name, int argc, JSValueConst *argv) {
  JSValue fn = JS_GetPropertyStr(ctx, obj, name);
  JSValue r = JS_Call(ctx, fn, obj, argc, argv);
  JS_FreeValue(ctx, fn);
  return r;
}

/* Makes the realm for the next run: context, shims, prelude (and a runtime if there is none). */
static void realm_open(void) {
  if (!rt) {
    rt = new_runtime();
    /* Below the shadow stack the linker reserves (see the build script), so deep recursion
     * is a RangeError rather than a trap. */
    JS_SetMaxStackSize(rt, (size_t)RUNNER_JS_STACK_BYTES);
    JS_SetInterruptHandler(rt, interrupt_handler, NULL);
  }
  JS_SetMemoryLimit(rt, DEFAULT_MEMORY_BYTES);
  ctx = JS_NewContext(rt);
  if (!ctx) exit(5);

  JSValue shims_fn = eval_boot_script(shims_src, shims_src_len, &shims_bc, &shims_bc_len, "<shims>");
  if (JS_IsException(shims_fn)) fatal("the shims failed");
  JSValue native = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, native, "now", JS_NewCFunction(ctx, js_now, "now", 0));
  JS_SetPropertyStr(ctx, native, "load", JS_NewCFunction(ctx, js_load, "load", 2));
  timers = JS_Call(ctx, shims_fn, JS_UNDEFINED, 1, (JSValueConst *)&native);
  JS_FreeValue(ctx, native);
  JS_FreeValue(ctx, shims_fn);
  if (JS_IsException(timers)) fatal("the shims failed");

  prelude_fn = eval_boot_script(prelude_src, prelude_src_len, &prelude_bc, &prelude_bc_len, "<prelude>");
  if (JS_IsException(prelude_fn)) fatal("the prelude failed");
  host_obj = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, host_obj, "send", JS_NewCFunction(ctx, js_send, "send", 1));
  JS_SetPropertyStr(ctx, host_obj, "engine", JS_NewString(ctx, engine_name));
  JS_SetPropertyStr(ctx, host_obj, "limitHit", JS_NewCFunction(ctx, js_limit_hit, "limitHit", 0));
  endpoint = JS_Call(ctx, prelude_fn, JS_UNDEFINED, 1, (JSValueConst *)&host_obj);
  if (JS_IsException(endpoint)) fatal("the prelude failed");
  /* Errors thrown by timer callbacks are reported like uncaught ones. */
  JS_SetPropertyStr(ctx, timers, "report", JS_GetPropertyStr(ctx, endpoint, "reportUncaught"));
}

/*
 * Drops the realm with everything in it. After a run that ended by itself with nothing left
 * queued, the context goes and the runtime stays (it holds nothing a program can reach: the
 * interned strings and shapes of what ran). Otherwise, or when collecting the context queued
 * a job (a FinalizationRegistry callback), the runtime goes too, and its job queue with it.
 */
static void realm_close(int keep_runtime) {
  JS_FreeValue(ctx, endpoint);
  JS_FreeValue(ctx, timers);
  JS_FreeValue(ctx, prelude_fn);
  JS_FreeValue(ctx, host_obj);
  endpoint = timers = prelude_fn = host_obj = JS_UNDEFINED;
  if (JS_IsJobPending(rt)) keep_runtime = 0;
  JS_FreeContext(ctx);
  ctx = NULL;
  if (keep_runtime) {
    JS_RunGC(rt);
    if (!JS_IsJobPending(rt)) return;
  }
  JS_FreeRuntime(rt);
  rt = NULL;
}

/* Longest the runner lets the realm's own clean-up take before giving up on the realm. */
#define REALM_CHECK_MS 100

/*
 * Whether the realm of a run that ended by itself may serve the session's next run, as a Node
 * runner's does: nothing queued (after a collection, so no finalizer of the run is left to
 * fire later), the prelude put every global back (the built-ins are frozen, so that is all a
 * run can change), and the timers are dropped. The prelude's harden() then
 * runs once per realm instead of once per run (2.3 ms of a 3.2 ms warm run). Anything else, or
 * a check that does not finish in REALM_CHECK_MS, and the next run gets a fresh realm.
 */
static int realm_fit(void) {
  if (JS_IsJobPending(rt)) return 0;
  deadline_ms = now_ms() + REALM_CHECK_MS;
  JSValue ok = call_method(endpoint, "clean", 0, NULL);
  int fit = !JS_IsException(ok) && JS_ToBool(ctx, ok) == 1;
  JS_FreeValue(ctx, ok);
  if (fit) {
    JSValue r = call_method(timers, "reset", 0, NULL);
    fit = !JS_IsException(r);
    JS_FreeValue(ctx, r);
  }
  if (!fit) JS_FreeValue(ctx, JS_GetException(ctx));
  /* Collected now, so that a finalizer the run registered is queued now (and the realm
   * dropped) rather than run in the next run. */
  if (fit) JS_RunGC(rt);
  fit = fit && !aborting && !JS_IsJobPending(rt);
  deadline_ms = 0;
  aborting = 0;
  return fit;
}

/*
 * The run is over (its terminal frame was sent, or it has to be ended now): report it if the
 * program did not, hand the output on, and keep the realm for the next run when it is fit
 * (realm_fit), or make a fresh one.
 */
static void end_run(const char *code, const char *message) {
  int clean = run_ended && !aborting;
  if (!run_ended) out_error_frame(code, message);
  out_flush();
  run_active = 0;
  deadline_ms = 0;
  aborting = 0;
  if (clean && realm_fit()) return;
  realm_close(clean);
  realm_open();
}

static int is_exception_message(JSValueConst exc, const char *needle) {
  int found = 0;
  if (JS_IsError(ctx, exc)) {
    JSValue msg = JS_GetPropertyStr(ctx, exc, "message");
    const char *m = JS_ToCString(ctx, msg);
    if (m) {
      found = strstr(m, needle) != NULL;
      JS_FreeCString(ctx, m);
    }
    JS_FreeValue(ctx, msg);
  }
  return found;
}

/* An exception reached the runner (interrupt, out of memory, a broken prelude): the run ends. */
static void on_escaped_exception(void) {
  JSValue exc = JS_GetException(ctx);
  const char *code = "CODE_RUNTIME_ERROR";
  const char *message = "The program failed inside the runner.";
  if (aborting || is_exception_message(exc, "interrupted")) {
    code = "SANDBOX_TIMEOUT";
    message = "interrupted";
  } else if (alloc_refused || JS_IsNull(exc)) {
    code = "SANDBOX_MEMORY";
    message = "out of memory";
  } else if (is_exception_message(exc, "stack overflow")) {
    message = "stack overflow";
  }
  JS_FreeValue(ctx, exc);
  if (run_active) {
    end_run(code, message);
  } else {
    /* No run: nothing to report; start from a clean realm all the same. */
    realm_close(0);
    realm_open();
  }
}

/* Runs queued jobs until none is left or the run is over; ends the run when it is. */
static void drain_jobs(void) {
  JSContext *jctx;
  while (!run_ended && !aborting) {
    int r = JS_ExecutePendingJob(rt, &jctx);
    if (r == 0) break;
    if (r < 0) {
      on_escaped_exception();
      return;
    }
  }
  if (run_active && aborting) end_run("SANDBOX_TIMEOUT", "interrupted");
  else if (run_active && run_ended) end_run(NULL, NULL);
}

/* Milliseconds until the next timer is due, or -1 for none. */
static int64_t timers_next(void) {
  JSValue r = call_method(timers, "next", 0, NULL);
  if (JS_IsException(r)) {
    on_escaped_exception();
    return -1;
  }
  double d = -1;
  JS_ToFloat64(ctx, &d, r);
  JS_FreeValue(ctx, r);
  if (d < 0) return -1;
  return (int64_t)d;
}

static void timers_run(void) {
  JSValue r = call_method(timers, "run", 0, NULL);
  if (JS_IsException(r))
    on_escaped_exception();
  else
    JS_FreeValue(ctx, r);
}

static void receive(const char *line, size_t len) {
  JSValue s = JS_NewStringLen(ctx, line, len);
  JSValue r = call_method(endpoint, "receive", 1, (JSValueConst *)&s);
  JS_FreeValue(ctx, s);
  if (JS_IsException(r))
    on_escaped_exception();
  else
    JS_FreeValue(ctx, r);
}

static double num_field(JSValueConst obj, const char *name, double fallback) {
  JSValue v = JS_GetPropertyStr(ctx, obj, name);
  double d = fallback;
  if (JS_IsNumber(v)) JS_ToFloat64(ctx, &d, v);
  JS_FreeValue(ctx, v);
  return d;
}

static void str_field(JSValueConst obj, const char *name, char *dst, size_t cap) {
  JSValue v = JS_GetPropertyStr(ctx, obj, name);
  const char *s = JS_IsString(v) ? JS_ToCString(ctx, v) : NULL;
  dst[0] = 0;
  if (s) {
    snprintf(dst, cap, "%s", s);
    JS_FreeCString(ctx, s);
  }
  JS_FreeValue(ctx, v);
}

/* Parses a control line of the host (limits, cancel) with the realm's JSON parser. */
static JSValue parse_control(const char *line, size_t len) {
  JSValue f = JS_ParseJSON(ctx, line, len, "<control>");
  if (JS_IsException(f)) JS_FreeValue(ctx, JS_GetException(ctx));
  return f;
}

static void on_line(const char *line, size_t len) {
  if (has_prefix(line, len, "{\"t\":\"limits\"")) {
    JSValue f = parse_control(line, len);
    if (JS_IsException(f)) return;
    str_field(f, "run", run_id, sizeof run_id);
    pending_timeout_ms = num_field(f, "timeoutMs", 0);
    pending_memory_mb = num_field(f, "memoryMb", 0);
    JS_FreeValue(ctx, f);
    return;
  }
  if (has_prefix(line, len, "{\"t\":\"cancel\"")) {
    char id[256];
    JSValue f = parse_control(line, len);
    if (JS_IsException(f)) return;
    str_field(f, "run", id, sizeof id);
    JS_FreeValue(ctx, f);
    if (run_active && strcmp(id, run_id) == 0) end_run("SANDBOX_TIMEOUT", "cancelled by the host");
    return;
  }
  if (has_prefix(line, len, "{\"t\":\"run\"")) {
    if (run_active) return; /* one run at a time: the host never sends a second */
    if (pending_memory_mb > 0) JS_SetMemoryLimit(rt, (size_t)(pending_memory_mb * 1024 * 1024));
    deadline_ms = pending_timeout_ms > 0 ? now_ms() + (int64_t)pending_timeout_ms : 0;
    pending_timeout_ms = 0;
    pending_memory_mb = 0;
    run_active = 1;
    run_ended = 0;
    alloc_refused = 0;
    frames_open = 1;
    receive(line, len);
    return;
  }
  /* A reply for a run that has ended is dropped with its realm. */
  if (run_active) receive(line, len);
}

/* Reads what stdin has, waiting at most `wait_ms` (-1: no limit). Returns 0 at EOF. */
static int read_input(int64_t wait_ms) {
  if (wait_ms >= 0) {
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, (int)(wait_ms > 2000000000 ? 2000000000 : wait_ms));
    if (r == 0) return 1; /* timed out: nothing to read */
  }
  if (in_cap - in_len < 65536) {
    in_cap = in_cap * 2 + 65536;
    in_buf = realloc(in_buf, in_cap);
    if (!in_buf) exit(5);
  }
  ssize_t n = read(0, in_buf + in_len, in_cap - in_len);
  if (n == 0) return 0;
  if (n < 0) return errno == EINTR || errno == EAGAIN ? 1 : 0;
  in_len += (size_t)n;
  return 1;
}

static void process_lines(void) {
  size_t start = 0;
  for (;;) {
    char *nl = memchr(in_buf + start, '\n', in_len - start);
    if (!nl) break;
    size_t len = (size_t)(nl - (in_buf + start));
    *nl = 0; /* JS_ParseJSON wants a terminated buffer */
    if (len > 0) {
      on_line(in_buf + start, len);
      if (run_active) drain_jobs();
    }
    start += len + 1;
  }
  if (start > 0) {
    memmove(in_buf, in_buf + start, in_len - start);
    in_len -= start;
  }
}

/* Copies a string field of the boot frame into plain memory (it outlives every realm). */
static char *boot_field(JSContext *c, JSValueConst frame, const char *name, size_t *len) {
  JSValue v = JS_GetPropertyStr(c, frame, name);
  size_t n = 0;
  const char *s = JS_IsString(v) ? JS_ToCStringLen(c, &n, v) : NULL;
  char *copy = NULL;
  if (s) {
    copy = malloc(n + 1);
    if (!copy) exit(5);
    memcpy(copy, s, n + 1);
    JS_FreeCString(c, s);
  }
  JS_FreeValue(c, v);
  if (len) *len = n;
  return copy;
}

/* Reads the boot frame and makes the first realm, which announces the guest (ready). */
static int boot(void) {
  char *nl;
  while (!(nl = memchr(in_buf, '\n', in_len))) {
    if (!read_input(-1)) return 0;
  }
  size_t len = (size_t)(nl - in_buf);
  *nl = 0; /* JS_ParseJSON wants a terminated buffer */
  /* Parsed in a context with only the base objects, in the runtime of the first realm (what
   * it touches of the fresh memory, the realm reuses). */
  rt = new_runtime();
  JS_SetMaxStackSize(rt, (size_t)RUNNER_JS_STACK_BYTES);
  JS_SetInterruptHandler(rt, interrupt_handler, NULL);
  JSContext *bctx = JS_NewContextRaw(rt);
  if (!bctx) exit(5);
  JS_AddIntrinsicBaseObjects(bctx);
  JSValue f = JS_ParseJSON(bctx, in_buf, len, "<boot>");
  if (JS_IsException(f)) {
    fprintf(stderr, "runner: the boot frame is not JSON\n");
    return 0;
  }
  shims_src = boot_field(bctx, f, "shims", &shims_src_len);
  JSValue part_obj = JS_GetPropertyStr(bctx, f, "shimParts");
  JSPropertyEnum *names = NULL;
  uint32_t count = 0;
  if (JS_IsObject(part_obj) &&
      JS_GetOwnPropertyNames(bctx, &names, &count, part_obj, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) == 0) {
    for (uint32_t k = 0; k < count && part_count < MAX_SHIM_PARTS; k++) {
      const char *name = JS_AtomToCString(bctx, names[k].atom);
      char *src = name ? boot_field(bctx, part_obj, name, &parts[part_count].src_len) : NULL;
      if (name && src) {
        parts[part_count].name = strdup(name);
        parts[part_count].src = src;
        part_count++;
      }
      if (name) JS_FreeCString(bctx, name);
    }
    for (uint32_t k = 0; k < count; k++) JS_FreeAtom(bctx, names[k].atom);
    js_free(bctx, names);
  }
  JS_FreeValue(bctx, part_obj);
  prelude_src = boot_field(bctx, f, "prelude", &prelude_src_len);
  engine_name = boot_field(bctx, f, "engine", NULL);
  JS_FreeValue(bctx, f);
  JS_FreeContext(bctx);
  memmove(in_buf, nl + 1, in_len - len - 1);
  in_len -= len + 1;
  if (!shims_src || !prelude_src || !engine_name) {
    fprintf(stderr, "runner: the boot frame lacks shims, prelude or engine\n");
    return 0;
  }
  frames_open = 1; /* the first realm's prelude announces the guest */
  realm_open();
  frames_open = 0;
  /* Every later realm starts from bytecode: the sources are no longer needed. */
  free(shims_src);
  free(prelude_src);
  shims_src = prelude_src = NULL;
  return 1;
}

int main(void) {
  out_cap = 1024 * 1024;
  out_buf = malloc(out_cap);
  in_cap = 1024 * 1024;
  in_buf = malloc(in_cap);
  if (!out_buf || !in_buf) return 5;

  if (!boot()) {
    out_flush();
    return 2;
  }

  for (;;) {
    process_lines();
    int64_t wait = -1;
    if (run_active) {
      JSValue r = call_method(endpoint, "busy", 0, NULL);
      int busy = JS_IsException(r) ? -1 : JS_ToBool(ctx, r);
      JS_FreeValue(ctx, r);
      if (busy < 0) {
        on_escaped_exception();
        continue;
      }
      if (!busy) {
        /* The program ended without a terminal frame reaching us: say so. */
        end_run("CODE_RUNTIME_ERROR", "The program ended without a result.");
        continue;
      }
      int64_t left = deadline_ms != 0 ? deadline_ms - now_ms() : -1;
      if (deadline_ms != 0 && left <= 0) {
        /* The deadline passed while the program was waiting (a reply, a timer). */
        end_run("SANDBOX_TIMEOUT", "interrupted");
        continue;
      }
      int64_t next = timers_next();
      if (!run_active) continue;
      if (next == 0) {
        timers_run();
        if (run_active) drain_jobs();
        continue;
      }
      wait = next < 0 ? left : (left < 0 || next < left ? next : left);
    }
    out_flush();
    if (!read_input(wait)) break;
  }
  out_flush();
  return 0;
}
