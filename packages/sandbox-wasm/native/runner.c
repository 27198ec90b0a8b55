/*
 * The QuickJS runner for @mcp-optimizer/sandbox-wasm: a wasm32-wasi command that speaks the
 * core bridge protocol (docs/bridge-protocol.md) over its stdin and stdout.
 *
 * Lines in (host to guest):
 *   {"t":"boot","shims":"<src>","prelude":"<src>","engine":"<name>"}  first line, once
 *   {"t":"limits","run":"<id>","timeoutMs":N,"memoryMb":N}              before each run frame
 *   {"t":"run",...} / {"t":"result",...}                                 handed to the prelude
 *   {"t":"cancel","run":"<id>"}                                          the host gave up a run
 * Lines out: whatever the prelude sends (ready, call, log, done, error).
 *
 * The runner owns what JavaScript cannot do by itself: the wall-clock deadline (an interrupt
 * handler), the memory limit (JS_SetMemoryLimit), timers (the shims keep the list, the loop
 * waits with poll()) and the job queue (JS_ExecutePendingJob while awaiting host replies).
 * Session globals live in one JSContext for the guest's whole life.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "quickjs.h"

#define OUT_FLUSH_BYTES (64 * 1024)

static JSRuntime *rt;
static JSContext *ctx;
static JSValue prelude_fn = JS_UNDEFINED; /* guestMain */
static JSValue host_obj = JS_UNDEFINED;   /* { send, engine } handed to guestMain */
static JSValue endpoint = JS_UNDEFINED;   /* { receive, reportUncaught, busy } */
static JSValue timers = JS_UNDEFINED;     /* { next(), run(now), reset() } from the shims */

static int64_t deadline_ms;  /* 0: no deadline */
static int deadline_hit;     /* the interrupt handler fired for the current run */
/*
 * Set when the deadline passed: from then on every piece of JavaScript is interrupted (the
 * program's other jobs too, and a catch that would swallow a stack overflow raised while
 * the interrupt was being thrown) until the job queue is empty. Then the runner reports the
 * timeout itself and starts the prelude afresh in the same context (globals survive).
 */
static int aborting;
static char run_id[256];     /* the run the limits frame announced */
static int run_active;       /* a run frame was handed over and has not ended */

/* Output buffer: frames are written in batches, flushed before the runner waits. */
static char *out_buf;
static size_t out_len, out_cap;

/* Input buffer. */
static char *in_buf;
static size_t in_len, in_cap;

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

static void out_flush(void) {
  size_t off = 0;
  while (off < out_len) {
    ssize_t n = write(1, out_buf + off, out_len - off);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      exit(3); /* the host is gone */
    }
    off += (size_t)n;
  }
  out_len = 0;
}

static void out_write(const char *data, size_t len) {
  if (out_len + len + 1 > out_cap) {
    out_flush();
    if (len + 1 > out_cap) {
      /* One frame larger than the buffer: write it through. */
      size_t off = 0;
      while (off < len) {
        ssize_t n = write(1, data + off, len - off);
        if (n < 0) {
          if (errno == EINTR || errno == EAGAIN) continue;
          exit(3);
        }
        off += (size_t)n;
      }
      while (write(1, "\n", 1) < 0 && errno == EINTR) {
      }
      return;
    }
  }
  memcpy(out_buf + out_len, data, len);
  out_len += len;
  out_buf[out_len++] = '\n';
  if (out_len >= OUT_FLUSH_BYTES) out_flush();
}

/* A frame the runner writes itself (with a JSON-escaped run id it produced). */
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
  if (n > 0 && (size_t)n < sizeof frame) out_write(frame, (size_t)n);
}

static int interrupt_handler(JSRuntime *r, void *opaque) {
  (void)r;
  (void)opaque;
  if (aborting) return 1;
  if (deadline_ms != 0 && now_ms() >= deadline_ms) {
    deadline_ms = 0;
    deadline_hit = 1;
    aborting = 1;
    return 1;
  }
  return 0;
}

/* send(line): one frame to the host. */
static JSValue js_send(JSContext *c, JSValueConst this_val, int argc, JSValueConst *argv) {
  (void)this_val;
  size_t len;
  if (argc < 1) return JS_UNDEFINED;
  const char *s = JS_ToCStringLen(c, &len, argv[0]);
  if (!s) return JS_EXCEPTION;
  out_write(s, len);
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

static void start_endpoint(void);

/*
 * An exception reached the runner (interrupt, out of memory, a broken prelude). The run it
 * belonged to is reported as failed and the prelude starts afresh in the same context, so
 * session globals survive.
 */
static void on_escaped_exception(void) {
  JSValue exc = JS_GetException(ctx);
  if (aborting) {
    /* finish_abort() reports once the queue is empty. */
    JS_FreeValue(ctx, exc);
    JS_ResetUncatchableError(ctx);
    return;
  }
  const char *code = "CODE_RUNTIME_ERROR";
  const char *message = "The program failed inside the runner.";
  if (deadline_hit || is_exception_message(exc, "interrupted")) {
    code = "SANDBOX_TIMEOUT";
    message = "interrupted";
  } else if (is_exception_message(exc, "out of memory") || JS_IsNull(exc)) {
    code = "SANDBOX_MEMORY";
    message = "out of memory";
  } else if (is_exception_message(exc, "stack overflow")) {
    message = "stack overflow";
  }
  JS_FreeValue(ctx, exc);
  JS_ResetUncatchableError(ctx);
  if (run_active) out_error_frame(code, message);
  run_active = 0;
  deadline_ms = 0;
  start_endpoint();
}

static JSValue call_method(JSValueConst obj, const char *name, int argc, JSValueConst *argv) {
  JSValue fn = JS_GetPropertyStr(ctx, obj, name);
  JSValue r = JS_Call(ctx, fn, obj, argc, argv);
  JS_FreeValue(ctx, fn);
  return r;
}

static void start_endpoint(void) {
  JS_FreeValue(ctx, endpoint);
  endpoint = JS_Call(ctx, prelude_fn, JS_UNDEFINED, 1, (JSValueConst *)&host_obj);
  if (JS_IsException(endpoint)) {
    JSValue exc = JS_GetException(ctx);
    const char *m = JS_ToCString(ctx, exc);
    fprintf(stderr, "runner: the prelude failed: %s\n", m ? m : "?");
    if (m) JS_FreeCString(ctx, m);
    JS_FreeValue(ctx, exc);
    out_flush();
    exit(4);
  }
  /* Errors thrown by timer callbacks are reported like uncaught ones. */
  if (!JS_IsUndefined(timers)) {
    JS_SetPropertyStr(ctx, timers, "report", JS_GetPropertyStr(ctx, endpoint, "reportUncaught"));
  }
}

static void timers_call(const char *name);

/* The deadline passed and every job has been interrupted: report, start the prelude afresh. */
static void finish_abort(void) {
  aborting = 0;
  deadline_ms = 0;
  /* The prelude may have reported the interrupt itself already. */
  int reported = 1;
  if (run_active) {
    JSValue r = call_method(endpoint, "busy", 0, NULL);
    reported = JS_IsException(r) ? 0 : !JS_ToBool(ctx, r);
    if (JS_IsException(r)) JS_FreeValue(ctx, JS_GetException(ctx));
    JS_FreeValue(ctx, r);
  }
  if (run_active && !reported) out_error_frame("SANDBOX_TIMEOUT", "interrupted");
  run_active = 0;
  timers_call("reset");
  start_endpoint();
}

static void drain_jobs(void) {
  JSContext *jctx;
  for (;;) {
    int r = JS_ExecutePendingJob(rt, &jctx);
    if (r == 0) break;
    if (r < 0) on_escaped_exception();
  }
  if (aborting) finish_abort();
}

static int endpoint_busy(void) {
  JSValue r = call_method(endpoint, "busy", 0, NULL);
  if (JS_IsException(r)) {
    on_escaped_exception();
    drain_jobs();
    return 0;
  }
  int busy = JS_ToBool(ctx, r);
  JS_FreeValue(ctx, r);
  return busy;
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

static void timers_call(const char *name) {
  JSValue r = call_method(timers, name, 0, NULL);
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

static int has_prefix(const char *line, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  return len >= n && memcmp(line, prefix, n) == 0;
}

static double pending_timeout_ms = 0;

static void on_line(const char *line, size_t len) {
  if (has_prefix(line, len, "{\"t\":\"limits\"")) {
    JSValue f = JS_ParseJSON(ctx, line, len, "<limits>");
    if (JS_IsException(f)) {
      JS_FreeValue(ctx, JS_GetException(ctx));
      return;
    }
    str_field(f, "run", run_id, sizeof run_id);
    pending_timeout_ms = num_field(f, "timeoutMs", 0);
    double mb = num_field(f, "memoryMb", 0);
    if (mb > 0) JS_SetMemoryLimit(rt, (size_t)(mb * 1024 * 1024));
    JS_FreeValue(ctx, f);
    return;
  }
  if (has_prefix(line, len, "{\"t\":\"cancel\"")) {
    char id[256];
    JSValue f = JS_ParseJSON(ctx, line, len, "<cancel>");
    if (JS_IsException(f)) {
      JS_FreeValue(ctx, JS_GetException(ctx));
      return;
    }
    str_field(f, "run", id, sizeof id);
    JS_FreeValue(ctx, f);
    if (run_active && strcmp(id, run_id) == 0) {
      out_error_frame("SANDBOX_TIMEOUT", "cancelled by the host");
      run_active = 0;
      deadline_ms = 0;
      timers_call("reset");
      start_endpoint();
    }
    return;
  }
  if (has_prefix(line, len, "{\"t\":\"run\"")) {
    deadline_hit = 0;
    deadline_ms = pending_timeout_ms > 0 ? now_ms() + (int64_t)pending_timeout_ms : 0;
    pending_timeout_ms = 0;
    run_active = 1;
  }
  receive(line, len);
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
      drain_jobs();
    }
    start += len + 1;
  }
  if (start > 0) {
    memmove(in_buf, in_buf + start, in_len - start);
    in_len -= start;
  }
}

static int boot(void) {
  /* The first line is the boot frame; read until it is whole. */
  char *nl;
  while (!(nl = memchr(in_buf, '\n', in_len))) {
    if (!read_input(-1)) return 0;
  }
  size_t len = (size_t)(nl - in_buf);
  *nl = 0; /* JS_ParseJSON wants a terminated buffer */
  JSValue f = JS_ParseJSON(ctx, in_buf, len, "<boot>");
  if (JS_IsException(f)) {
    fprintf(stderr, "runner: the boot frame is not JSON\n");
    return 0;
  }
  JSValue shims_src = JS_GetPropertyStr(ctx, f, "shims");
  JSValue prelude_src = JS_GetPropertyStr(ctx, f, "prelude");
  JSValue engine = JS_GetPropertyStr(ctx, f, "engine");
  JS_FreeValue(ctx, f);
  memmove(in_buf, nl + 1, in_len - len - 1);
  in_len -= len + 1;

  size_t slen;
  const char *s = JS_ToCStringLen(ctx, &slen, shims_src);
  JSValue shims_fn = s ? JS_Eval(ctx, s, slen, "<shims>", JS_EVAL_TYPE_GLOBAL) : JS_EXCEPTION;
  if (s) JS_FreeCString(ctx, s);
  const char *p = JS_ToCStringLen(ctx, &slen, prelude_src);
  prelude_fn = p ? JS_Eval(ctx, p, slen, "<prelude>", JS_EVAL_TYPE_GLOBAL) : JS_EXCEPTION;
  if (p) JS_FreeCString(ctx, p);
  JS_FreeValue(ctx, shims_src);
  JS_FreeValue(ctx, prelude_src);
  if (JS_IsException(shims_fn) || JS_IsException(prelude_fn)) {
    JSValue exc = JS_GetException(ctx);
    const char *m = JS_ToCString(ctx, exc);
    fprintf(stderr, "runner: boot failed: %s\n", m ? m : "?");
    return 0;
  }

  JSValue native = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, native, "now", JS_NewCFunction(ctx, js_now, "now", 0));
  timers = JS_Call(ctx, shims_fn, JS_UNDEFINED, 1, (JSValueConst *)&native);
  JS_FreeValue(ctx, native);
  JS_FreeValue(ctx, shims_fn);
  if (JS_IsException(timers)) {
    JSValue exc = JS_GetException(ctx);
    const char *m = JS_ToCString(ctx, exc);
    fprintf(stderr, "runner: the shims failed: %s\n", m ? m : "?");
    return 0;
  }

  host_obj = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, host_obj, "send", JS_NewCFunction(ctx, js_send, "send", 1));
  JS_SetPropertyStr(ctx, host_obj, "engine", engine);
  start_endpoint();
  return 1;
}

int main(void) {
  out_cap = 1024 * 1024;
  out_buf = malloc(out_cap);
  in_cap = 1024 * 1024;
  in_buf = malloc(in_cap);
  if (!out_buf || !in_buf) return 5;

  rt = JS_NewRuntime();
  /* Until the first limits frame: a generous ceiling, replaced per run. */
  JS_SetMemoryLimit(rt, (size_t)256 * 1024 * 1024);
  /* Below the shadow stack the linker reserves (see the build script), so deep recursion is
   * a RangeError rather than a trap. */
  JS_SetMaxStackSize(rt, (size_t)RUNNER_JS_STACK_BYTES);
  JS_SetInterruptHandler(rt, interrupt_handler, NULL);
  ctx = JS_NewContext(rt);
  if (!ctx) return 5;

  if (!boot()) {
    out_flush();
    return 2;
  }

  for (;;) {
    process_lines();
    int busy = run_active && endpoint_busy();
    int64_t wait = -1;
    if (busy) {
      int64_t next = timers_next();
      if (next == 0) {
        timers_call("run");
        drain_jobs();
        continue;
      }
      wait = next;
    } else if (run_active) {
      /* The run ended: timers it left behind are dropped, the deadline is off. */
      run_active = 0;
      deadline_ms = 0;
      timers_call("reset");
      drain_jobs();
    }
    out_flush();
    if (!read_input(wait)) break;
  }
  out_flush();
  return 0;
}
