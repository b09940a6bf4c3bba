/*
 * test_plugin: a collectd 5 plugin that registers every callback kind and
 * writes one line per event to the file named by its `OutputFile` option, so
 * that rcollectd and collectd 5.12 can be compared on identical input.
 *
 * Builds against rcollectd's header (cc -shared -fPIC -Iinclude/collectd) and
 * against collectd-dev's (cc -shared -fPIC -DHAVE_CONFIG_H
 * -I/usr/include/collectd/core/daemon -I/usr/include/collectd/core
 * -I/usr/include/collectd).
 *
 * Options (besides arbitrary keys, which are echoed as the config tree):
 *   OutputFile "path"   where events go (required)
 *   FailReads N         the first N reads fail (for backoff tests)
 *   StopAfterReads N    reads after the Nth dispatch nothing (missing values)
 *   ReadValues N        value lists dispatched per read (default 2)
 *   WriteSleepMs N      each write sleeps N ms (slow writer)
 *   LogWrites false     do not record each write (big volume tests)
 *   ReportDispatchTime true   record how long a read's dispatching took
 *   FailInit true       the init callback fails (its read must not run)
 *   InitSleepMs N       the init callback sleeps N ms first (a slow init)
 *   LogAll true         record every log line, not only this plugin's markers
 *   CrashOnRead N       the Nth read dereferences NULL (isolation tests)
 *   HangOnRead N        the Nth read sleeps for an hour (isolation tests)
 */
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static FILE *out;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int fail_reads;
static int crash_on_read;
static int hang_on_read;
static int stop_after_reads;
static bool fail_init;
static int init_sleep_ms;
static bool report_dispatch_time;
static int read_values = 2;
static int write_sleep_ms;
static bool log_writes = true;
static bool log_all;
static int reads;
static long long dispatched;
static long long written;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...) {
  va_list ap;
  pthread_mutex_lock(&out_lock);
  if (out != NULL) {
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
  }
  pthread_mutex_unlock(&out_lock);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void dump_item(oconfig_item_t *ci, int depth) {
  char line[4096];
  int pos = snprintf(line, sizeof(line), "config %d %s", depth, ci->key);
  for (int i = 0; i < ci->values_num && pos < (int)sizeof(line); i++) {
    oconfig_value_t *v = ci->values + i;
    if (v->type == OCONFIG_TYPE_STRING)
      pos += snprintf(line + pos, sizeof(line) - pos, " s:\"%s\"",
                      v->value.string);
    else if (v->type == OCONFIG_TYPE_NUMBER)
      pos += snprintf(line + pos, sizeof(line) - pos, " n:%.6f",
                      v->value.number);
    else if (v->type == OCONFIG_TYPE_BOOLEAN)
      pos += snprintf(line + pos, sizeof(line) - pos, " b:%s",
                      v->value.boolean ? "true" : "false");
    else
      pos += snprintf(line + pos, sizeof(line) - pos, " ?:%d", v->type);
  }
  emit("%s", line);
  for (int i = 0; i < ci->children_num; i++) {
    dump_item(ci->children + i, depth + 1);
  }
}

static int tp_config(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *c = ci->children + i;
    if (strcasecmp(c->key, "OutputFile") == 0 && c->values_num == 1 &&
        c->values[0].type == OCONFIG_TYPE_STRING) {
      pthread_mutex_lock(&out_lock);
      if (out != NULL)
        fclose(out);
      out = fopen(c->values[0].value.string, "a");
      pthread_mutex_unlock(&out_lock);
      if (out == NULL) {
        ERROR("test_plugin: cannot open %s", c->values[0].value.string);
        return -1;
      }
    } else if (strcasecmp(c->key, "FailReads") == 0 && c->values_num == 1) {
      fail_reads = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "CrashOnRead") == 0 && c->values_num == 1) {
      crash_on_read = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "HangOnRead") == 0 && c->values_num == 1) {
      hang_on_read = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "StopAfterReads") == 0 &&
               c->values_num == 1) {
      stop_after_reads = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "ReadValues") == 0 && c->values_num == 1) {
      read_values = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "WriteSleepMs") == 0 && c->values_num == 1) {
      write_sleep_ms = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "LogWrites") == 0 && c->values_num == 1) {
      log_writes = c->values[0].value.boolean != 0;
    } else if (strcasecmp(c->key, "ReportDispatchTime") == 0 &&
               c->values_num == 1) {
      report_dispatch_time = c->values[0].value.boolean != 0;
    } else if (strcasecmp(c->key, "InitSleepMs") == 0 && c->values_num == 1) {
      init_sleep_ms = (int)c->values[0].value.number;
    } else if (strcasecmp(c->key, "FailInit") == 0 && c->values_num == 1) {
      fail_init = c->values[0].value.boolean != 0;
    } else if (strcasecmp(c->key, "LogAll") == 0 && c->values_num == 1) {
      log_all = c->values[0].value.boolean != 0;
    }
  }
  dump_item(ci, 0);
  return 0;
}

static int tp_init(void) {
  if (init_sleep_ms > 0)
    usleep((useconds_t)init_sleep_ms * 1000);
  emit("init interval=%.3f", CDTIME_T_TO_DOUBLE(plugin_get_interval()));
  INFO("test_plugin: TESTMARK init");
  return fail_init ? -1 : 0;
}

static int tp_read(user_data_t *ud) {
  int n = ++reads;
  if (ud == NULL || ud->data == NULL || strcmp((char *)ud->data, "ud") != 0)
    emit("read-error user data missing");
  emit("read-attempt %d at %.3f interval=%.3f", n, now_s(),
       CDTIME_T_TO_DOUBLE(plugin_get_interval()));
  if (crash_on_read > 0 && n == crash_on_read) {
    volatile int *null = NULL;
    *null = 1;
  }
  if (hang_on_read > 0 && n == hang_on_read)
    sleep(3600);
  if (n <= fail_reads) {
    INFO("test_plugin: TESTMARK read %d fails", n);
    return -1;
  }
  if (stop_after_reads > 0 && n > stop_after_reads)
    return 0; /* dispatch nothing: the values go missing */

  value_list_t vl = VALUE_LIST_INIT;
  vl.values_len = 1;
  sstrncpy(vl.plugin, "test_plugin", sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, "inst", sizeof(vl.plugin_instance));

  double dispatch_start = now_s();
  for (int i = 0; i < read_values; i++) {
    value_t v = {.gauge = (double)n + (double)i / 1000.0};
    vl.values = &v;
    vl.time = 0;
    if (i % 2 == 0) {
      sstrncpy(vl.type, "test_gauge", sizeof(vl.type));
      snprintf(vl.type_instance, sizeof(vl.type_instance), "v%d", i);
    } else {
      sstrncpy(vl.type, "gauge", sizeof(vl.type));
      snprintf(vl.type_instance, sizeof(vl.type_instance), "g%d", i);
    }
    if (plugin_dispatch_values(&vl) == 0)
      __sync_fetch_and_add(&dispatched, 1);
  }

  /* Two data sources through the standard types.db. */
  value_t two[2] = {{.derive = 10 * n}, {.derive = 20 * n}};
  vl.values = two;
  vl.values_len = 2;
  sstrncpy(vl.type, "if_octets", sizeof(vl.type));
  sstrncpy(vl.type_instance, "", sizeof(vl.type_instance));
  if (plugin_dispatch_values(&vl) == 0)
    __sync_fetch_and_add(&dispatched, 1);

  if (report_dispatch_time)
    emit("dispatch-seconds %.3f", now_s() - dispatch_start);
  emit("read %d dispatched=%lld", n, __sync_fetch_and_add(&dispatched, 0));

  if (n == fail_reads + 1) {
    notification_t notif = {.severity = NOTIF_WARNING,
                            .time = cdtime(),
                            .message = "test notification"};
    sstrncpy(notif.host, hostname_g, sizeof(notif.host));
    sstrncpy(notif.plugin, "test_plugin", sizeof(notif.plugin));
    sstrncpy(notif.type, "test_gauge", sizeof(notif.type));
    plugin_notification_meta_add_string(&notif, "key", "value");
    plugin_notification_meta_add_signed_int(&notif, "answer", 42);
    plugin_dispatch_notification(&notif);
    plugin_notification_meta_free(notif.meta);
    INFO("test_plugin: TESTMARK read %d ok", n);
  }
  /* Give the write threads time to take the values (collectd frees what is
   * still queued at shutdown). */
  if (fail_reads == 0 && write_sleep_ms == 0)
    usleep(300 * 1000);
  return 0;
}

static int tp_write(const data_set_t *ds, const value_list_t *vl,
                    user_data_t *ud) {
  if (ud == NULL || ud->data == NULL || strcmp((char *)ud->data, "wd") != 0)
    emit("write-error user data missing");
  if (write_sleep_ms > 0)
    usleep((useconds_t)write_sleep_ms * 1000);
  __sync_fetch_and_add(&written, 1);
  if (!log_writes)
    return 0;
  char name[6 * DATA_MAX_NAME_LEN];
  char values[512];
  format_name(name, sizeof(name), vl->host, vl->plugin, vl->plugin_instance,
              vl->type, vl->type_instance);
  int pos = 0;
  for (size_t i = 0; i < ds->ds_num && pos < (int)sizeof(values); i++) {
    if (ds->ds[i].type == DS_TYPE_GAUGE)
      pos += snprintf(values + pos, sizeof(values) - pos, " %s=%.3f",
                      ds->ds[i].name, vl->values[i].gauge);
    else if (ds->ds[i].type == DS_TYPE_DERIVE)
      pos += snprintf(values + pos, sizeof(values) - pos, " %s=%" PRIi64,
                      ds->ds[i].name, vl->values[i].derive);
    else
      pos += snprintf(values + pos, sizeof(values) - pos, " %s=%llu",
                      ds->ds[i].name,
                      (unsigned long long)vl->values[i].counter);
  }
  emit("write %s interval=%.3f ctx=%s%s", name,
       CDTIME_T_TO_DOUBLE(vl->interval),
       plugin_get_ctx().name ? plugin_get_ctx().name : "(null)", values);
  return 0;
}

static int tp_flush(cdtime_t timeout, const char *identifier,
                    user_data_t *ud) {
  (void)ud;
  emit("flush timeout=%.3f identifier=%s", CDTIME_T_TO_DOUBLE(timeout),
       identifier ? identifier : "(null)");
  return 0;
}

static int tp_missing(const value_list_t *vl, user_data_t *ud) {
  (void)ud;
  char name[6 * DATA_MAX_NAME_LEN];
  format_name(name, sizeof(name), vl->host, vl->plugin, vl->plugin_instance,
              vl->type, vl->type_instance);
  emit("missing %s", name);
  return 0;
}

static int tp_notification(const notification_t *n, user_data_t *ud) {
  (void)ud;
  char meta[512] = "";
  int pos = 0;
  for (notification_meta_t *m = n->meta; m != NULL && pos < (int)sizeof(meta);
       m = m->next) {
    if (m->type == NM_TYPE_STRING)
      pos += snprintf(meta + pos, sizeof(meta) - pos, " %s=%s", m->name,
                      m->nm_value.nm_string);
    else if (m->type == NM_TYPE_SIGNED_INT)
      pos += snprintf(meta + pos, sizeof(meta) - pos, " %s=%" PRIi64, m->name,
                      m->nm_value.nm_signed_int);
  }
  emit("notification severity=%d host=%s plugin=%s type=%s message=%s%s",
       n->severity, n->host, n->plugin, n->type, n->message, meta);
  return 0;
}

static void tp_log(int severity, const char *msg, user_data_t *ud) {
  (void)ud;
  if (log_all || strstr(msg, "TESTMARK") != NULL)
    emit("log %d %s", severity, msg);
}

static int tp_shutdown(void) {
  emit("shutdown");
  INFO("test_plugin: TESTMARK shutdown");
  return 0;
}

static void free_string(void *p) { free(p); }

void module_register(void) {
  data_source_t src = {.name = "value", .type = DS_TYPE_GAUGE, .min = 0.0,
                       .max = NAN};
  data_set_t ds = {.type = "test_gauge", .ds_num = 1, .ds = &src};
  plugin_register_data_set(&ds);

  plugin_register_complex_config("test_plugin", tp_config);
  plugin_register_init("test_plugin", tp_init);
  plugin_register_complex_read(
      NULL, "test_plugin", tp_read, 0,
      &(user_data_t){.data = strdup("ud"), .free_func = free_string});
  plugin_register_write(
      "test_plugin", tp_write,
      &(user_data_t){.data = strdup("wd"), .free_func = free_string});
  plugin_register_flush("test_plugin", tp_flush, NULL);
  plugin_register_missing("test_plugin", tp_missing, NULL);
  plugin_register_notification("test_plugin", tp_notification, NULL);
  plugin_register_log("test_plugin", tp_log, NULL);
  plugin_register_shutdown("test_plugin", tp_shutdown);
}
