/*
 * Variadic entry points of the collectd ABI. Stable Rust cannot define
 * C-variadic functions, so these format in C and hand a finished string (or a
 * finished value list) to Rust functions with rcollectd-private names.
 */
#include "rcollectd.h"

/* Implemented in Rust (daemon/src/abi/plugin.rs). */
void rcd_log_str(int level, const char *message);
int rcd_check_drop(void);
int rcd_enqueue(const value_list_t *vl);

/* collectd truncates log lines to 1023 bytes. */
#define RCD_LOG_MAX 1024

void plugin_log(int level, const char *format, ...) {
  char msg[RCD_LOG_MAX];
  va_list ap;

  /* A non-debug collectd build drops DEBUG messages here; so do we. */
  if (level >= LOG_DEBUG)
    return;
  if (format == NULL)
    return;

  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  msg[sizeof(msg) - 1] = '\0';

  rcd_log_str(level, msg);
}

void daemon_log(int level, const char *format, ...) {
  char msg[RCD_LOG_MAX] = "";
  va_list ap;

  if (format == NULL)
    return;

  const char *name = plugin_get_ctx().name;
  if (name == NULL)
    name = "UNKNOWN";

  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  msg[sizeof(msg) - 1] = '\0';

  plugin_log(level, "%s plugin: %s", name, msg);
}

int ssnprintf(char *str, size_t size, char const *format, ...) {
  va_list ap;
  int status;

  va_start(ap, format);
  status = vsnprintf(str, size, format, ap);
  va_end(ap);
  return status;
}

char *ssnprintf_alloc(char const *format, ...) {
  char static_buffer[1024] = "";
  va_list ap;
  int status;

  va_start(ap, format);
  status = vsnprintf(static_buffer, sizeof(static_buffer), format, ap);
  va_end(ap);
  if (status < 0)
    return NULL;

  size_t alloc_size = (size_t)status + 1;
  if (alloc_size <= sizeof(static_buffer))
    return strdup(static_buffer);

  char *buf = calloc(1, alloc_size);
  if (buf == NULL)
    return NULL;

  va_start(ap, format);
  status = vsnprintf(buf, alloc_size, format, ap);
  va_end(ap);
  if (status < 0) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* Dispatches one value list per (name, value) pair of the NULL-terminated
 * argument list; values are read with the C type of `store_type`. With
 * `store_percentage`, gauges are converted to percent of their sum and the
 * type becomes "percent". Returns the number of failures. */
int plugin_dispatch_multivalue(value_list_t const *template,
                               bool store_percentage, int store_type, ...) {
  va_list ap;
  gauge_t sum = 0.0;
  int failed = 0;

  if (template == NULL)
    return -1;

  if (rcd_check_drop())
    return 0;

  if (template->values_len != 1) {
    plugin_log(LOG_ERR, "plugin_dispatch_multivalue: template must have "
                        "exactly one value.");
    return -1;
  }

  if (store_type == DS_TYPE_GAUGE) {
    va_start(ap, store_type);
    for (;;) {
      char const *name = va_arg(ap, char const *);
      if (name == NULL)
        break;
      gauge_t value = va_arg(ap, gauge_t);
      if (!isnan(value))
        sum += value;
    }
    va_end(ap);
  }

  value_list_t vl = *template;
  value_t value = template->values[0];
  vl.values = &value;
  vl.values_len = 1;
  if (vl.time == 0)
    vl.time = cdtime();
  if (store_percentage)
    snprintf(vl.type, sizeof(vl.type), "%s", "percent");

  va_start(ap, store_type);
  for (;;) {
    char const *name = va_arg(ap, char const *);
    if (name == NULL)
      break;
    snprintf(vl.type_instance, sizeof(vl.type_instance), "%s", name);

    switch (store_type) {
    case DS_TYPE_GAUGE:
      value.gauge = va_arg(ap, gauge_t);
      if (store_percentage)
        value.gauge *= sum ? (100.0 / sum) : NAN;
      break;
    case DS_TYPE_ABSOLUTE:
      value.absolute = va_arg(ap, absolute_t);
      break;
    case DS_TYPE_COUNTER:
      value.counter = va_arg(ap, counter_t);
      break;
    case DS_TYPE_DERIVE:
      value.derive = va_arg(ap, derive_t);
      break;
    default:
      plugin_log(LOG_ERR,
                 "plugin_dispatch_multivalue: given store_type is incorrect.");
      failed++;
      va_end(ap);
      return failed;
    }

    if (rcd_enqueue(&vl) != 0)
      failed++;
  }
  va_end(ap);

  return failed;
}

/* ---- utils_complain.h: rate-limited complaints ------------------------- */

/* Reports (returns 1) unless the previous report is more recent than the
 * current back-off interval, which starts at the plugin's interval and doubles
 * up to one day. */
__attribute__((format(printf, 3, 0))) static int
rcd_vcomplain(int level, c_complain_t *c, const char *format,
              va_list ap) {
  char message[512];
  cdtime_t now = cdtime();

  if (c->last + c->interval > now)
    return 0;
  c->last = now;

  cdtime_t interval = plugin_get_interval();
  if (c->interval < interval)
    c->interval = interval;
  else
    c->interval *= 2;
  if (c->interval > TIME_T_TO_CDTIME_T(86400))
    c->interval = TIME_T_TO_CDTIME_T(86400);

  vsnprintf(message, sizeof(message), format, ap);
  message[sizeof(message) - 1] = '\0';
  plugin_log(level, "%s", message);
  return 1;
}

void c_complain(int level, c_complain_t *c, const char *format, ...) {
  va_list ap;
  if (c == NULL || format == NULL)
    return;
  va_start(ap, format);
  if (rcd_vcomplain(level, c, format, ap))
    c->complained_once = true;
  va_end(ap);
}

void c_complain_once(int level, c_complain_t *c, const char *format,
                     ...) {
  va_list ap;
  if (c == NULL || format == NULL || c->complained_once)
    return;
  va_start(ap, format);
  if (rcd_vcomplain(level, c, format, ap))
    c->complained_once = true;
  va_end(ap);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char message[512];
  va_list ap;

  if (c == NULL || format == NULL || c->interval == 0)
    return;
  c->interval = 0;
  c->complained_once = false;

  va_start(ap, format);
  vsnprintf(message, sizeof(message), format, ap);
  va_end(ap);
  message[sizeof(message) - 1] = '\0';
  plugin_log(level, "%s", message);
}

/*
 * Plugin threads start in C: a plugin may end its thread with pthread_exit()
 * or be cancelled, and that forced unwind must only cross C frames (a Rust
 * frame with unwinding tables in between would abort the process).
 */
struct rcd_thread_start {
  void *(*start)(void *);
  void *arg;
  plugin_ctx_t ctx;
};

static void *rcd_thread_trampoline(void *p) {
  struct rcd_thread_start ts = *(struct rcd_thread_start *)p;
  free(p);
  plugin_set_ctx(ts.ctx);
  return ts.start(ts.arg);
}

int rcd_thread_spawn(pthread_t *thread, void *(*start)(void *), void *arg,
                     plugin_ctx_t ctx) {
  struct rcd_thread_start *p = malloc(sizeof(*p));
  if (p == NULL)
    return ENOMEM;
  p->start = start;
  p->arg = arg;
  p->ctx = ctx;
  int status = pthread_create(thread, NULL, rcd_thread_trampoline, p);
  if (status != 0)
    free(p);
  return status;
}
