/*
 * dispatch_flood: a read plugin for the rcollectd benchmarks.
 *
 * Once StartFile exists (or at the first read if no StartFile is set), its
 * read callback calls plugin_dispatch_values() Count times, as fast as it can
 * or paced to Rate value lists per second, cycling through Series distinct
 * identifiers "bench/flood/gauge-s<N>" with strictly increasing times so no
 * cache rejects a value as too old. Then it writes to File one line:
 *
 *   <dispatched> <failed> <start_ns> <end_ns>
 *
 * (CLOCK_MONOTONIC nanoseconds) and does nothing more.
 *
 * Builds against rcollectd's header and loads unmodified in collectd 5.12:
 *   cc -O2 -shared -fPIC -Iinclude/collectd -o dispatch_flood.so dispatch_flood.c
 */
#include "plugin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static char *status_file;
static char *start_file;
static unsigned long long flood_count = 1000000;
static unsigned long long flood_series = 1000;
static unsigned long long flood_rate; /* value lists per second; 0 = no pacing */
static bool done;

static const char *config_keys[] = {"File", "StartFile", "Count", "Series",
                                    "Rate"};

static unsigned long long mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ULL +
         (unsigned long long)ts.tv_nsec;
}

/* Accepts "123" and the "123.000000" form collectd gives unquoted numbers. */
static int parse_ull(const char *value, unsigned long long *out) {
  char *end = NULL;
  double v = strtod(value, &end);
  if (end == value || *end != 0 || !(v >= 0.0) || v > 1e18)
    return -1;
  *out = (unsigned long long)v;
  return 0;
}

static int df_config(const char *key, const char *value) {
  if (strcasecmp(key, "File") == 0) {
    free(status_file);
    status_file = strdup(value);
    return status_file == NULL ? -1 : 0;
  }
  if (strcasecmp(key, "StartFile") == 0) {
    free(start_file);
    start_file = strdup(value);
    return start_file == NULL ? -1 : 0;
  }
  if (strcasecmp(key, "Count") == 0)
    return parse_ull(value, &flood_count);
  if (strcasecmp(key, "Series") == 0) {
    int status = parse_ull(value, &flood_series);
    return (status != 0 || flood_series == 0) ? -1 : 0;
  }
  if (strcasecmp(key, "Rate") == 0)
    return parse_ull(value, &flood_rate);
  return -1;
}

/* "s" followed by the decimal digits of n, without snprintf's cost. */
static void series_name(char *buf, unsigned long long n) {
  char digits[24];
  int len = 0;
  do {
    digits[len++] = (char)('0' + n % 10);
    n /= 10;
  } while (n != 0);
  buf[0] = 's';
  for (int i = 0; i < len; i++)
    buf[1 + i] = digits[len - 1 - i];
  buf[1 + len] = 0;
}

static void write_status(unsigned long long dispatched,
                         unsigned long long failed, unsigned long long start,
                         unsigned long long end) {
  if (status_file == NULL)
    return;
  char tmp[4096];
  if (snprintf(tmp, sizeof(tmp), "%s.tmp", status_file) >= (int)sizeof(tmp))
    return;
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return;
  fprintf(f, "%llu %llu %llu %llu\n", dispatched, failed, start, end);
  if (fclose(f) == 0)
    rename(tmp, status_file);
}

static int df_read(void) {
  if (done)
    return 0;
  if (start_file != NULL && access(start_file, F_OK) != 0)
    return 0;
  done = true;

  value_t value;
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  sstrncpy(vl.host, "bench", sizeof(vl.host));
  sstrncpy(vl.plugin, "flood", sizeof(vl.plugin));
  sstrncpy(vl.type, "gauge", sizeof(vl.type));
  /* A day: no series goes "missing" (and out of uc_get_names) mid-run. */
  vl.interval = TIME_T_TO_CDTIME_T(86400);

  cdtime_t base = cdtime();
  unsigned long long failed = 0;
  unsigned long long start = mono_ns();
  for (unsigned long long i = 0; i < flood_count; i++) {
    if (flood_rate != 0 && i % 1000 == 0) {
      /* Pace in steps of 1000: sleep until the schedule catches up. */
      unsigned long long due = start + i * 1000000000ULL / flood_rate;
      unsigned long long now = mono_ns();
      if (due > now) {
        struct timespec ts = {.tv_sec = (time_t)((due - now) / 1000000000ULL),
                              .tv_nsec = (long)((due - now) % 1000000000ULL)};
        nanosleep(&ts, NULL);
      }
    }
    value.gauge = (gauge_t)i;
    vl.time = base + (cdtime_t)i;
    series_name(vl.type_instance, i % flood_series);
    if (plugin_dispatch_values(&vl) != 0)
      failed++;
  }
  unsigned long long end = mono_ns();
  write_status(flood_count, failed, start, end);
  return 0;
}

void module_register(void) {
  plugin_register_config("dispatch_flood", df_config, config_keys,
                         (int)(sizeof(config_keys) / sizeof(config_keys[0])));
  plugin_register_read("dispatch_flood", df_read);
}
