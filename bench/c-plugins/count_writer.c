/*
 * count_writer: a write plugin for the rcollectd benchmarks.
 *
 * It counts the value lists that reach its write callback and nothing else,
 * so a benchmark measures the daemon's dispatch path and not a writer. Every
 * 100 ms (and at shutdown) it replaces File with one line:
 *
 *   <count> <last_write_ns> <now_ns> <flushes> <flush_start_ns> <flush_end_ns> <flush_names>
 *
 * With "Plugin <name>" only value lists of that plugin are counted.
 * Times are CLOCK_MONOTONIC nanoseconds, comparable with the harness's own
 * clock. A flush callback records when the last flush started and ended; with
 * "FlushWalksCache true" it also lists every cached identifier through
 * uc_get_names(), as a writer that exports the whole cache on flush would.
 *
 * Builds against rcollectd's header and loads unmodified in collectd 5.12:
 *   cc -O2 -shared -fPIC -Iinclude/collectd -o count_writer.so count_writer.c
 */
#include "plugin.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char *out_file;
static char *only_plugin;
static bool walk_cache;

static atomic_ullong count;
static atomic_ullong last_write_ns;
static atomic_ullong flushes;
static atomic_ullong flush_start_ns;
static atomic_ullong flush_end_ns;
static atomic_ullong flush_names;

static pthread_t reporter;
static bool reporter_running;
static atomic_bool stop_reporter;

static const char *config_keys[] = {"File", "Plugin", "FlushWalksCache"};

static unsigned long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL +
         (unsigned long long)ts.tv_nsec;
}

static void report(void) {
  if (out_file == NULL)
    return;
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", out_file) >= (int)sizeof(tmp))
    return;
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return;
  fprintf(f, "%llu %llu %llu %llu %llu %llu %llu\n",
          (unsigned long long)atomic_load(&count),
          (unsigned long long)atomic_load(&last_write_ns), mono_ns(),
          (unsigned long long)atomic_load(&flushes),
          (unsigned long long)atomic_load(&flush_start_ns),
          (unsigned long long)atomic_load(&flush_end_ns),
          (unsigned long long)atomic_load(&flush_names));
  if (fclose(f) == 0)
    rename(tmp, out_file);
}

static void *reporter_main(void *arg) {
  (void)arg;
  while (!atomic_load(&stop_reporter)) {
    report();
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static int cw_config(const char *key, const char *value) {
  if (strcasecmp(key, "File") == 0) {
    free(out_file);
    out_file = strdup(value);
    return out_file == NULL ? -1 : 0;
  }
  if (strcasecmp(key, "Plugin") == 0) {
    free(only_plugin);
    only_plugin = strdup(value);
    return only_plugin == NULL ? -1 : 0;
  }
  if (strcasecmp(key, "FlushWalksCache") == 0) {
    walk_cache = strcasecmp(value, "true") == 0;
    return 0;
  }
  return -1;
}

static int cw_init(void) {
  if (out_file == NULL) {
    plugin_log(LOG_ERR, "count_writer: option File is required");
    return -1;
  }
  if (reporter_running)
    return 0;
  atomic_store(&stop_reporter, false);
  if (pthread_create(&reporter, NULL, reporter_main, NULL) != 0) {
    plugin_log(LOG_ERR, "count_writer: cannot start the reporter thread");
    return -1;
  }
  reporter_running = true;
  return 0;
}

static int cw_write(const data_set_t *ds, const value_list_t *vl,
                    user_data_t *ud) {
  (void)ds;
  (void)ud;
  if (only_plugin != NULL && strcmp(vl->plugin, only_plugin) != 0)
    return 0;
  atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
  atomic_store_explicit(&last_write_ns, mono_ns(), memory_order_relaxed);
  return 0;
}

static int cw_flush(cdtime_t timeout, const char *identifier,
                    user_data_t *ud) {
  (void)timeout;
  (void)identifier;
  (void)ud;
  atomic_store(&flush_start_ns, mono_ns());
  size_t n = 0;
  if (walk_cache) {
    char **names = NULL;
    cdtime_t *times = NULL;
    if (uc_get_names(&names, &times, &n) == 0) {
      for (size_t i = 0; i < n; i++)
        free(names[i]);
      free(names);
      free(times);
    } else {
      n = 0;
    }
  }
  atomic_store(&flush_names, n);
  atomic_store(&flush_end_ns, mono_ns());
  atomic_fetch_add(&flushes, 1);
  report();
  return 0;
}

static int cw_shutdown(void) {
  if (reporter_running) {
    atomic_store(&stop_reporter, true);
    pthread_join(reporter, NULL);
    reporter_running = false;
  }
  report();
  return 0;
}

void module_register(void) {
  plugin_register_config("count_writer", cw_config, config_keys,
                         (int)(sizeof(config_keys) / sizeof(config_keys[0])));
  plugin_register_init("count_writer", cw_init);
  plugin_register_write("count_writer", cw_write, NULL);
  plugin_register_flush("count_writer", cw_flush, NULL);
  plugin_register_shutdown("count_writer", cw_shutdown);
}
