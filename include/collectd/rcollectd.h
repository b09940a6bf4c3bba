/*
 * rcollectd.h: the collectd 5 plugin ABI as rcollectd implements it.
 *
 * Struct layouts, constants and prototypes match collectd 5.12, so a plugin
 * compiled against this header loads in rcollectd and in collectd 5.12, and a
 * plugin compiled against collectd's headers loads in rcollectd.
 * plugin-api's `sys` module is generated from this file by bindgen.
 */
#ifndef RCOLLECTD_H
#define RCOLLECTD_H 1

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits and constants ---------------------------------------------- */

#ifndef DATA_MAX_NAME_LEN
#define DATA_MAX_NAME_LEN 128
#endif
#define NOTIF_MAX_MSG_LEN 256

#define DS_TYPE_COUNTER 0
#define DS_TYPE_GAUGE 1
#define DS_TYPE_DERIVE 2
#define DS_TYPE_ABSOLUTE 3

#ifndef LOG_ERR
#define LOG_ERR 3
#endif
#ifndef LOG_WARNING
#define LOG_WARNING 4
#endif
#ifndef LOG_NOTICE
#define LOG_NOTICE 5
#endif
#ifndef LOG_INFO
#define LOG_INFO 6
#endif
#ifndef LOG_DEBUG
#define LOG_DEBUG 7
#endif

#define NOTIF_FAILURE 1
#define NOTIF_WARNING 2
#define NOTIF_OKAY 4

#define MD_TYPE_STRING 1
#define MD_TYPE_SIGNED_INT 2
#define MD_TYPE_UNSIGNED_INT 3
#define MD_TYPE_DOUBLE 4
#define MD_TYPE_BOOLEAN 5

#define OCONFIG_TYPE_STRING 0
#define OCONFIG_TYPE_NUMBER 1
#define OCONFIG_TYPE_BOOLEAN 2

#define STATE_UNKNOWN 0
#define STATE_OKAY 1
#define STATE_WARNING 2
#define STATE_ERROR 3
#define STATE_MISSING 15

#define FC_MATCH_NO_MATCH 0
#define FC_MATCH_MATCHES 1
#define FC_TARGET_CONTINUE 0
#define FC_TARGET_STOP 1
#define FC_TARGET_RETURN 2

/* ---- time -------------------------------------------------------------- */

/* Time in units of 2^-30 seconds. */
typedef uint64_t cdtime_t;

#define TIME_T_TO_CDTIME_T_STATIC(t) (((cdtime_t)(t)) << 30)
#define TIME_T_TO_CDTIME_T(t) ((cdtime_t)TIME_T_TO_CDTIME_T_STATIC(t))
#define MS_TO_CDTIME_T(ms)                                                     \
  ((cdtime_t)(((((cdtime_t)(ms)) / 1000) << 30) |                              \
              ((((((cdtime_t)(ms)) % 1000) << 30) + 500) / 1000)))
#define US_TO_CDTIME_T(us)                                                     \
  ((cdtime_t)(((((cdtime_t)(us)) / 1000000) << 30) |                           \
              ((((((cdtime_t)(us)) % 1000000) << 30) + 500000) / 1000000)))
#define NS_TO_CDTIME_T(ns)                                                     \
  ((cdtime_t)(((((cdtime_t)(ns)) / 1000000000) << 30) |                        \
              ((((((cdtime_t)(ns)) % 1000000000) << 30) + 500000000) /         \
               1000000000)))
#define CDTIME_T_TO_TIME_T(t) ((time_t)(((t) + (1 << 29)) >> 30))
#define CDTIME_T_TO_MS(t)                                                      \
  ((uint64_t)((((t) >> 30) * 1000) +                                           \
              ((((t)&0x3fffffff) * 1000 + (1 << 29)) >> 30)))
#define CDTIME_T_TO_US(t)                                                      \
  ((uint64_t)((((t) >> 30) * 1000000) +                                        \
              ((((t)&0x3fffffff) * 1000000 + (1 << 29)) >> 30)))
#define CDTIME_T_TO_NS(t)                                                      \
  ((uint64_t)((((t) >> 30) * 1000000000) +                                     \
              ((((t)&0x3fffffff) * 1000000000 + (1 << 29)) >> 30)))
#define CDTIME_T_TO_DOUBLE(t) (((double)(t)) / 1073741824.0)
#define DOUBLE_TO_CDTIME_T_STATIC(d) ((cdtime_t)((d)*1073741824.0))
#define DOUBLE_TO_CDTIME_T(d) ((cdtime_t)DOUBLE_TO_CDTIME_T_STATIC(d))
#define CDTIME_T_TO_TIMEVAL(t)                                                 \
  (struct timeval) {                                                           \
    .tv_sec = (time_t)((t) >> 30),                                             \
    .tv_usec = (suseconds_t)((((t)&0x3fffffff) * 1000000 + (1 << 29)) >> 30),  \
  }
#define TIMEVAL_TO_CDTIME_T(tv)                                                \
  US_TO_CDTIME_T(1000000 * (tv)->tv_sec + (tv)->tv_usec)
#define CDTIME_T_TO_TIMESPEC(t)                                                \
  (struct timespec) {                                                          \
    .tv_sec = (time_t)((t) >> 30),                                             \
    .tv_nsec = (long)((((t)&0x3fffffff) * 1000000000 + (1 << 29)) >> 30),      \
  }
#define TIMESPEC_TO_CDTIME_T(ts)                                               \
  NS_TO_CDTIME_T(1000000000ULL * (ts)->tv_sec + (ts)->tv_nsec)

#define RFC3339_SIZE 26
#define RFC3339NANO_SIZE 36

cdtime_t cdtime(void);
int rfc3339(char *buffer, size_t buffer_size, cdtime_t t);
int rfc3339nano(char *buffer, size_t buffer_size, cdtime_t t);
int rfc3339_local(char *buffer, size_t buffer_size, cdtime_t t);
int rfc3339nano_local(char *buffer, size_t buffer_size, cdtime_t t);

/* ---- globals ----------------------------------------------------------- */

extern char *hostname_g;
extern cdtime_t interval_g;
extern int pidfile_from_cli;
extern int timeout_g;
void hostname_set(char const *hostname);

/* ---- meta data --------------------------------------------------------- */

struct meta_data_s;
typedef struct meta_data_s meta_data_t;

meta_data_t *meta_data_create(void);
meta_data_t *meta_data_clone(meta_data_t *orig);
int meta_data_clone_merge(meta_data_t **dest, meta_data_t *orig);
void meta_data_destroy(meta_data_t *md);
int meta_data_exists(meta_data_t *md, const char *key);
int meta_data_type(meta_data_t *md, const char *key);
int meta_data_toc(meta_data_t *md, char ***toc);
int meta_data_delete(meta_data_t *md, const char *key);
int meta_data_add_string(meta_data_t *md, const char *key, const char *value);
int meta_data_add_signed_int(meta_data_t *md, const char *key, int64_t value);
int meta_data_add_unsigned_int(meta_data_t *md, const char *key,
                               uint64_t value);
int meta_data_add_double(meta_data_t *md, const char *key, double value);
int meta_data_add_boolean(meta_data_t *md, const char *key, bool value);
int meta_data_get_string(meta_data_t *md, const char *key, char **value);
int meta_data_get_signed_int(meta_data_t *md, const char *key, int64_t *value);
int meta_data_get_unsigned_int(meta_data_t *md, const char *key,
                               uint64_t *value);
int meta_data_get_double(meta_data_t *md, const char *key, double *value);
int meta_data_get_boolean(meta_data_t *md, const char *key, bool *value);
int meta_data_as_string(meta_data_t *md, const char *key, char **value);

/* ---- config tree ------------------------------------------------------- */

struct oconfig_value_s {
  union {
    char *string;
    double number;
    int boolean;
  } value;
  int type;
};
typedef struct oconfig_value_s oconfig_value_t;

struct oconfig_item_s;
typedef struct oconfig_item_s oconfig_item_t;
struct oconfig_item_s {
  char *key;
  oconfig_value_t *values;
  int values_num;
  oconfig_item_t *parent;
  oconfig_item_t *children;
  int children_num;
};

oconfig_item_t *oconfig_parse_file(const char *file);
oconfig_item_t *oconfig_clone(const oconfig_item_t *ci);
void oconfig_free(oconfig_item_t *ci);

/* ---- values, data sets, notifications ---------------------------------- */

struct identifier_s {
  char *host;
  char *plugin;
  char *plugin_instance;
  char *type;
  char *type_instance;
};
typedef struct identifier_s identifier_t;

typedef unsigned long long counter_t;
typedef double gauge_t;
typedef int64_t derive_t;
typedef uint64_t absolute_t;

union value_u {
  counter_t counter;
  gauge_t gauge;
  derive_t derive;
  absolute_t absolute;
};
typedef union value_u value_t;

struct value_list_s {
  value_t *values;
  size_t values_len;
  cdtime_t time;
  cdtime_t interval;
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  meta_data_t *meta;
};
typedef struct value_list_s value_list_t;
#define VALUE_LIST_INIT                                                        \
  { .values = NULL, .meta = NULL }

struct data_source_s {
  char name[DATA_MAX_NAME_LEN];
  int type;
  double min;
  double max;
};
typedef struct data_source_s data_source_t;

struct data_set_s {
  char type[DATA_MAX_NAME_LEN];
  size_t ds_num;
  data_source_t *ds;
};
typedef struct data_set_s data_set_t;

enum notification_meta_type_e {
  NM_TYPE_STRING,
  NM_TYPE_SIGNED_INT,
  NM_TYPE_UNSIGNED_INT,
  NM_TYPE_DOUBLE,
  NM_TYPE_BOOLEAN
};

typedef struct notification_meta_s {
  char name[DATA_MAX_NAME_LEN];
  enum notification_meta_type_e type;
  union {
    const char *nm_string;
    int64_t nm_signed_int;
    uint64_t nm_unsigned_int;
    double nm_double;
    bool nm_boolean;
  } nm_value;
  struct notification_meta_s *next;
} notification_meta_t;

typedef struct notification_s {
  int severity;
  cdtime_t time;
  char message[NOTIF_MAX_MSG_LEN];
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  notification_meta_t *meta;
} notification_t;

struct user_data_s {
  void *data;
  void (*free_func)(void *);
};
typedef struct user_data_s user_data_t;

enum cache_event_type_e { CE_VALUE_NEW, CE_VALUE_UPDATE, CE_VALUE_EXPIRED };

typedef struct cache_event_s {
  enum cache_event_type_e type;
  const value_list_t *value_list;
  const char *value_list_name;
  int ret;
} cache_event_t;

struct plugin_ctx_s {
  char *name;
  cdtime_t interval;
  cdtime_t flush_interval;
  cdtime_t flush_timeout;
};
typedef struct plugin_ctx_s plugin_ctx_t;

/* ---- callbacks --------------------------------------------------------- */

typedef int (*plugin_init_cb)(void);
typedef int (*plugin_read_cb)(user_data_t *);
typedef int (*plugin_write_cb)(const data_set_t *, const value_list_t *,
                               user_data_t *);
typedef int (*plugin_flush_cb)(cdtime_t timeout, const char *identifier,
                               user_data_t *);
typedef int (*plugin_missing_cb)(const value_list_t *, user_data_t *);
typedef int (*plugin_cache_event_cb)(cache_event_t *, user_data_t *);
typedef void (*plugin_log_cb)(int severity, const char *message,
                              user_data_t *);
typedef int (*plugin_shutdown_cb)(void);
typedef int (*plugin_notification_cb)(const notification_t *, user_data_t *);

/* ---- plugin registry and dispatch --------------------------------------- */

void plugin_set_dir(const char *dir);
int plugin_load(const char *name, bool global);
bool plugin_is_loaded(char const *name);
int plugin_init_all(void);
void plugin_read_all(void);
int plugin_read_all_once(void);
int plugin_shutdown_all(void);

int plugin_write(const char *plugin, const data_set_t *ds,
                 const value_list_t *vl);
int plugin_flush(const char *plugin, cdtime_t timeout, const char *identifier);

int plugin_register_config(const char *name,
                           int (*callback)(const char *key, const char *val),
                           const char **keys, int keys_num);
int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *));
int plugin_register_init(const char *name, plugin_init_cb callback);
int plugin_register_read(const char *name, int (*callback)(void));
int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *user_data);
int plugin_register_write(const char *name, plugin_write_cb callback,
                          user_data_t const *user_data);
int plugin_register_flush(const char *name, plugin_flush_cb callback,
                          user_data_t const *user_data);
int plugin_register_missing(const char *name, plugin_missing_cb callback,
                            user_data_t const *user_data);
int plugin_register_cache_event(const char *name,
                                plugin_cache_event_cb callback,
                                user_data_t const *ud);
int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback);
int plugin_register_data_set(const data_set_t *ds);
int plugin_register_log(const char *name, plugin_log_cb callback,
                        user_data_t const *user_data);
int plugin_register_notification(const char *name,
                                 plugin_notification_cb callback,
                                 user_data_t const *user_data);

int plugin_unregister_config(const char *name);
int plugin_unregister_complex_config(const char *name);
int plugin_unregister_init(const char *name);
int plugin_unregister_read(const char *name);
int plugin_unregister_read_group(const char *group);
int plugin_unregister_write(const char *name);
int plugin_unregister_flush(const char *name);
int plugin_unregister_missing(const char *name);
int plugin_unregister_cache_event(const char *name);
int plugin_unregister_shutdown(const char *name);
int plugin_unregister_data_set(const char *name);
int plugin_unregister_log(const char *name);
int plugin_unregister_notification(const char *name);

void plugin_log_available_writers(void);

int plugin_dispatch_values(value_list_t const *vl);
/* rcollectd extension (absent in collectd, hence weak: test the address
 * before calling). Between begin and end, value lists this thread dispatches
 * reach the write threads in batches; end before blocking. Calls nest. */
void rcollectd_dispatch_batch_begin(void) __attribute__((weak));
void rcollectd_dispatch_batch_end(void) __attribute__((weak));
/* rcollectd extension (weak, as above): at a configuration reload the daemon
 * re-executes itself; a descriptor kept under `key` (a listening socket) is
 * handed to the new process, where the plugin takes it back instead of
 * opening a new one, so nothing sent meanwhile is refused. keep: 0 or -1;
 * take: the descriptor (the caller owns it) or -1. */
int rcollectd_reload_keep_fd(const char *key, int fd) __attribute__((weak));
int rcollectd_reload_take_fd(const char *key) __attribute__((weak));
/* 1 while the daemon shuts down for a reload (leave kept sockets' files). */
int rcollectd_reload_pending(void) __attribute__((weak));
__attribute__((sentinel)) int plugin_dispatch_multivalue(value_list_t const *vl,
                                                         bool store_percentage,
                                                         int store_type, ...);
int plugin_dispatch_missing(const value_list_t *vl);
void plugin_dispatch_cache_event(enum cache_event_type_e event_type,
                                 unsigned long callbacks_mask, const char *name,
                                 const value_list_t *vl);
int plugin_dispatch_notification(const notification_t *notif);

void plugin_log(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void daemon_log(int level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
int parse_log_severity(const char *severity);
int parse_notif_severity(const char *severity);

#define ERROR(...) plugin_log(LOG_ERR, __VA_ARGS__)
#define WARNING(...) plugin_log(LOG_WARNING, __VA_ARGS__)
#define NOTICE(...) plugin_log(LOG_NOTICE, __VA_ARGS__)
#define INFO(...) plugin_log(LOG_INFO, __VA_ARGS__)
#if COLLECT_DEBUG
#define DEBUG(...) plugin_log(LOG_DEBUG, __VA_ARGS__)
#else
#define DEBUG(...) /* noop */
#endif
#define P_ERROR(...) daemon_log(LOG_ERR, __VA_ARGS__)
#define P_WARNING(...) daemon_log(LOG_WARNING, __VA_ARGS__)
#define P_NOTICE(...) daemon_log(LOG_NOTICE, __VA_ARGS__)
#define P_INFO(...) daemon_log(LOG_INFO, __VA_ARGS__)

const data_set_t *plugin_get_ds(const char *name);

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value);
int plugin_notification_meta_add_signed_int(notification_t *n,
                                            const char *name, int64_t value);
int plugin_notification_meta_add_unsigned_int(notification_t *n,
                                              const char *name, uint64_t value);
int plugin_notification_meta_add_double(notification_t *n, const char *name,
                                        double value);
int plugin_notification_meta_add_boolean(notification_t *n, const char *name,
                                         bool value);
int plugin_notification_meta_copy(notification_t *dst,
                                  const notification_t *src);
int plugin_notification_meta_free(notification_meta_t *n);

void plugin_init_ctx(void);
plugin_ctx_t plugin_get_ctx(void);
plugin_ctx_t plugin_set_ctx(plugin_ctx_t ctx);
cdtime_t plugin_get_interval(void);
#define plugin_interval (plugin_get_ctx().interval)

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name);

/* Every plugin defines this; the daemon calls it after dlopen. */
void module_register(void);

/* ---- configuration ----------------------------------------------------- */

void cf_unregister(const char *type);
void cf_unregister_complex(const char *type);
void cf_register(const char *type, int (*callback)(const char *, const char *),
                 const char **keys, int keys_num);
int cf_register_complex(const char *type, int (*callback)(oconfig_item_t *));
int cf_read(const char *filename);
int global_option_set(const char *option, const char *value, bool from_cli);
const char *global_option_get(const char *option);
long global_option_get_long(const char *option, long default_value);
cdtime_t global_option_get_time(char const *option, cdtime_t default_value);
cdtime_t cf_get_default_interval(void);
int cf_util_get_string(const oconfig_item_t *ci, char **ret_string);
int cf_util_get_string_buffer(const oconfig_item_t *ci, char *buffer,
                              size_t buffer_size);
int cf_util_get_int(const oconfig_item_t *ci, int *ret_value);
int cf_util_get_double(const oconfig_item_t *ci, double *ret_value);
int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret_bool);
int cf_util_get_flag(const oconfig_item_t *ci, unsigned int *ret_value,
                     unsigned int flag);
int cf_util_get_port_number(const oconfig_item_t *ci);
int cf_util_get_service(const oconfig_item_t *ci, char **ret_string);
int cf_util_get_cdtime(const oconfig_item_t *ci, cdtime_t *ret_value);

/* ---- value cache ------------------------------------------------------- */

struct uc_iter_s;
typedef struct uc_iter_s uc_iter_t;

int uc_init(void);
int uc_check_timeout(void);
int uc_update(const data_set_t *ds, const value_list_t *vl);
int uc_get_rate_by_name(const char *name, gauge_t **ret_values,
                        size_t *ret_values_num);
gauge_t *uc_get_rate(const data_set_t *ds, const value_list_t *vl);
int uc_get_value_by_name(const char *name, value_t **ret_values,
                         size_t *ret_values_num);
value_t *uc_get_value(const data_set_t *ds, const value_list_t *vl);
size_t uc_get_size(void);
int uc_get_names(char ***ret_names, cdtime_t **ret_times, size_t *ret_number);
int uc_get_state(const data_set_t *ds, const value_list_t *vl);
int uc_set_state(const data_set_t *ds, const value_list_t *vl, int state);
int uc_get_hits(const data_set_t *ds, const value_list_t *vl);
int uc_set_hits(const data_set_t *ds, const value_list_t *vl, int hits);
int uc_inc_hits(const data_set_t *ds, const value_list_t *vl, int step);
int uc_set_callbacks_mask(const char *name, unsigned long callbacks_mask);
int uc_get_history(const data_set_t *ds, const value_list_t *vl,
                   gauge_t *ret_history, size_t num_steps, size_t num_ds);
int uc_get_history_by_name(const char *name, gauge_t *ret_history,
                           size_t num_steps, size_t num_ds);
uc_iter_t *uc_get_iterator(void);
int uc_iterator_next(uc_iter_t *iter, char **ret_name);
void uc_iterator_destroy(uc_iter_t *iter);
int uc_iterator_get_time(uc_iter_t *iter, cdtime_t *ret_time);
int uc_iterator_get_values(uc_iter_t *iter, value_t **ret_values,
                           size_t *ret_num);
int uc_iterator_get_interval(uc_iter_t *iter, cdtime_t *ret_interval);
int uc_iterator_get_meta(uc_iter_t *iter, meta_data_t **ret_meta);
int uc_meta_data_exists(const value_list_t *vl, const char *key);
int uc_meta_data_delete(const value_list_t *vl, const char *key);
int uc_meta_data_toc(const value_list_t *vl, char ***toc);
int uc_meta_data_add_string(const value_list_t *vl, const char *key,
                            const char *value);
int uc_meta_data_add_signed_int(const value_list_t *vl, const char *key,
                                int64_t value);
int uc_meta_data_add_unsigned_int(const value_list_t *vl, const char *key,
                                  uint64_t value);
int uc_meta_data_add_double(const value_list_t *vl, const char *key,
                            double value);
int uc_meta_data_add_boolean(const value_list_t *vl, const char *key,
                             bool value);
int uc_meta_data_get_string(const value_list_t *vl, const char *key,
                            char **value);
int uc_meta_data_get_signed_int(const value_list_t *vl, const char *key,
                                int64_t *value);
int uc_meta_data_get_unsigned_int(const value_list_t *vl, const char *key,
                                  uint64_t *value);
int uc_meta_data_get_double(const value_list_t *vl, const char *key,
                            double *value);
int uc_meta_data_get_boolean(const value_list_t *vl, const char *key,
                             bool *value);

/* ---- common utilities -------------------------------------------------- */

struct rate_to_value_state_s {
  value_t last_value;
  cdtime_t last_time;
  gauge_t residual;
};
typedef struct rate_to_value_state_s rate_to_value_state_t;

struct value_to_rate_state_s {
  value_t last_value;
  cdtime_t last_time;
};
typedef struct value_to_rate_state_s value_to_rate_state_t;

char *sstrncpy(char *dest, const char *src, size_t n);
__attribute__((format(printf, 3, 4))) int ssnprintf(char *str, size_t size,
                                                    char const *format, ...);
__attribute__((format(printf, 1, 2))) char *ssnprintf_alloc(char const *format,
                                                            ...);
char *sstrdup(const char *s);
size_t sstrnlen(const char *s, size_t n);
char *sstrndup(const char *s, size_t n);
void *smalloc(size_t size);
char *sstrerror(int errnum, char *buf, size_t buflen);
#define STRERRNO sstrerror(errno, (char[256]){0}, 256)

int sread(int fd, void *buf, size_t count);
int swrite(int fd, const void *buf, size_t count);
int strsplit(char *string, char **fields, size_t size);
int strjoin(char *dst, size_t dst_len, char **fields, size_t fields_num,
            const char *sep);
int escape_slashes(char *buffer, size_t buffer_size);
int escape_string(char *buffer, size_t buffer_size);
void replace_special(char *buffer, size_t buffer_size);
int strunescape(char *buf, size_t buf_len);
size_t strstripnewline(char *buffer);
int timeval_cmp(struct timeval tv0, struct timeval tv1, struct timeval *delta);
int check_create_dir(const char *file_orig);
unsigned long long ntohll(unsigned long long n);
unsigned long long htonll(unsigned long long n);

int format_name(char *ret, int ret_len, const char *hostname,
                const char *plugin, const char *plugin_instance,
                const char *type, const char *type_instance);
#define FORMAT_VL(ret, ret_len, vl)                                            \
  format_name(ret, ret_len, (vl)->host, (vl)->plugin, (vl)->plugin_instance,   \
              (vl)->type, (vl)->type_instance)
int format_values(char *ret, size_t ret_len, const data_set_t *ds,
                  const value_list_t *vl, bool store_rates);
int parse_identifier(char *str, char **ret_host, char **ret_plugin,
                     char **ret_plugin_instance, char **ret_type,
                     char **ret_type_instance, char *default_host);
int parse_identifier_vl(const char *str, value_list_t *vl);
int parse_value(const char *value, value_t *ret_value, int ds_type);
int parse_values(char *buffer, value_list_t *vl, const data_set_t *ds);
int parse_value_file(char const *path, value_t *ret_value, int ds_type);

int notification_init(notification_t *n, int severity, const char *message,
                      const char *host, const char *plugin,
                      const char *plugin_instance, const char *type,
                      const char *type_instance);
#define NOTIFICATION_INIT_VL(n, vl)                                            \
  notification_init(n, NOTIF_FAILURE, NULL, (vl)->host, (vl)->plugin,          \
                    (vl)->plugin_instance, (vl)->type, (vl)->type_instance)

typedef int (*dirwalk_callback_f)(const char *dirname, const char *filename,
                                  void *user_data);
int walk_directory(const char *dir, dirwalk_callback_f callback,
                   void *user_data, int hidden);
ssize_t read_file_contents(char const *filename, void *buf, size_t bufsize);
ssize_t read_text_file_contents(char const *filename, char *buf,
                                size_t bufsize);
counter_t counter_diff(counter_t old_value, counter_t new_value);
int rate_to_value(value_t *ret_value, gauge_t rate,
                  rate_to_value_state_t *state, int ds_type, cdtime_t t);
int value_to_rate(gauge_t *ret_rate, value_t value, int ds_type, cdtime_t t,
                  value_to_rate_state_t *state);
int service_name_to_port_number(const char *service_name);
void set_sock_opts(int sockfd);
int strtoderive(const char *string, derive_t *ret_value);
int strtogauge(const char *string, gauge_t *ret_value);
int strarray_add(char ***ret_array, size_t *ret_array_len, char const *str);
void strarray_free(char **array, size_t array_len);
int check_capability(int arg);

/* ---- rate-limited complaints (utils_complain.h) -------------------------- */

typedef struct {
  /* time of the last report */
  cdtime_t last;
  /* how long to wait before reporting again; 0: no complaint pending */
  cdtime_t interval;
  bool complained_once;
} c_complain_t;

#define C_COMPLAIN_INIT_STATIC                                                 \
  { 0, 0, 0 }
#define C_COMPLAIN_INIT(c)                                                     \
  do {                                                                         \
    (c)->last = 0;                                                             \
    (c)->interval = 0;                                                         \
    (c)->complained_once = false;                                              \
  } while (0)

__attribute__((format(printf, 3, 4))) void
c_complain(int level, c_complain_t *c, const char *format, ...);
__attribute__((format(printf, 3, 4))) void
c_complain_once(int level, c_complain_t *c, const char *format, ...);
#define c_would_release(c) ((c)->interval != 0)
__attribute__((format(printf, 3, 4))) void
c_do_release(int level, c_complain_t *c, const char *format, ...);
#define c_release(level, c, ...)                                               \
  do {                                                                         \
    if (c_would_release(c))                                                    \
      c_do_release(level, c, __VA_ARGS__);                                     \
  } while (0)

/* ---- string substitution (utils_subst.h) -------------------------------- */

char *subst(char *buf, size_t buflen, const char *string, size_t off1,
            size_t off2, const char *replacement);
char *subst_string(char *buf, size_t buflen, const char *string,
                   const char *needle, const char *replacement);

/* ---- random numbers (utils_random.h) ------------------------------------ */

double cdrand_d(void);
uint32_t cdrand_u(void);
long cdrand_range(long min, long max);

/* ---- AVL tree (avltree.h) ------------------------------------------------ */

struct c_avl_tree_s;
typedef struct c_avl_tree_s c_avl_tree_t;
struct c_avl_iterator_s;
typedef struct c_avl_iterator_s c_avl_iterator_t;

c_avl_tree_t *c_avl_create(int (*compare)(const void *, const void *));
void c_avl_destroy(c_avl_tree_t *t);
int c_avl_insert(c_avl_tree_t *t, void *key, void *value);
int c_avl_remove(c_avl_tree_t *t, const void *key, void **rkey, void **rvalue);
int c_avl_get(c_avl_tree_t *t, const void *key, void **value);
int c_avl_pick(c_avl_tree_t *t, void **key, void **value);
c_avl_iterator_t *c_avl_get_iterator(c_avl_tree_t *t);
int c_avl_iterator_next(c_avl_iterator_t *iter, void **key, void **value);
int c_avl_iterator_prev(c_avl_iterator_t *iter, void **key, void **value);
void c_avl_iterator_destroy(c_avl_iterator_t *iter);
int c_avl_size(c_avl_tree_t *t);

/* ---- binary heap (heap.h) ------------------------------------------------ */

struct c_heap_s;
typedef struct c_heap_s c_heap_t;

c_heap_t *c_heap_create(int (*compare)(const void *, const void *));
void c_heap_destroy(c_heap_t *h);
int c_heap_insert(c_heap_t *h, void *ptr);
void *c_heap_get_root(c_heap_t *h);

/* ---- linked list (utils_llist.h) ------------------------------------------ */

struct llentry_s {
  char *key;
  void *value;
  struct llentry_s *next;
};
typedef struct llentry_s llentry_t;

struct llist_s;
typedef struct llist_s llist_t;

llist_t *llist_create(void);
void llist_destroy(llist_t *l);
llentry_t *llentry_create(char *key, void *value);
void llentry_destroy(llentry_t *e);
void llist_append(llist_t *l, llentry_t *e);
void llist_prepend(llist_t *l, llentry_t *e);
void llist_remove(llist_t *l, llentry_t *e);
int llist_size(llist_t *l);
llentry_t *llist_search(llist_t *l, const char *key);
llentry_t *llist_search_custom(llist_t *l, int (*compare)(llentry_t *, void *),
                               void *user_data);
llentry_t *llist_head(llist_t *l);
llentry_t *llist_tail(llist_t *l);

#define sfree(ptr)                                                             \
  do {                                                                         \
    free(ptr);                                                                 \
    (ptr) = NULL;                                                              \
  } while (0)
#define STATIC_ARRAY_SIZE(a) (sizeof(a) / sizeof(*(a)))
#define IS_TRUE(s)                                                             \
  ((strcasecmp("true", (s)) == 0) || (strcasecmp("yes", (s)) == 0) ||          \
   (strcasecmp("on", (s)) == 0))
#define IS_FALSE(s)                                                            \
  ((strcasecmp("false", (s)) == 0) || (strcasecmp("no", (s)) == 0) ||          \
   (strcasecmp("off", (s)) == 0))


/* ---- filter chains ----------------------------------------------------- */

struct match_proc_s {
  int (*create)(const oconfig_item_t *ci, void **user_data);
  int (*destroy)(void **user_data);
  int (*match)(const data_set_t *ds, const value_list_t *vl,
               notification_meta_t **meta, void **user_data);
};
typedef struct match_proc_s match_proc_t;

struct target_proc_s {
  int (*create)(const oconfig_item_t *ci, void **user_data);
  int (*destroy)(void **user_data);
  int (*invoke)(const data_set_t *ds, value_list_t *vl,
                notification_meta_t **meta, void **user_data);
};
typedef struct target_proc_s target_proc_t;

struct fc_chain_s;
typedef struct fc_chain_s fc_chain_t;

int fc_register_match(const char *name, match_proc_t proc);
int fc_register_target(const char *name, target_proc_t proc);
fc_chain_t *fc_chain_get_by_name(const char *chain_name);
int fc_process_chain(const data_set_t *ds, value_list_t *vl, fc_chain_t *chain);
int fc_default_action(const data_set_t *ds, value_list_t *vl);
int fc_configure(const oconfig_item_t *ci);


/* ---- thresholds (the threshold plugin keeps its table in the daemon) ----- */

#define UT_FLAG_INVERT 0x01
#define UT_FLAG_PERSIST 0x02
#define UT_FLAG_PERCENTAGE 0x04
#define UT_FLAG_INTERESTING 0x08
#define UT_FLAG_PERSIST_OK 0x10

typedef struct threshold_s {
  char host[DATA_MAX_NAME_LEN];
  char plugin[DATA_MAX_NAME_LEN];
  char plugin_instance[DATA_MAX_NAME_LEN];
  char type[DATA_MAX_NAME_LEN];
  char type_instance[DATA_MAX_NAME_LEN];
  char data_source[DATA_MAX_NAME_LEN];
  gauge_t warning_min;
  gauge_t warning_max;
  gauge_t failure_min;
  gauge_t failure_max;
  gauge_t hysteresis;
  unsigned int flags;
  int hits;
  struct threshold_s *next;
} threshold_t;

extern c_avl_tree_t *threshold_tree;
extern pthread_mutex_t threshold_lock;
threshold_t *threshold_get(const char *hostname, const char *plugin,
                           const char *plugin_instance, const char *type,
                           const char *type_instance);
threshold_t *threshold_search(const value_list_t *vl);
int ut_search_threshold(const value_list_t *vl, threshold_t *ret_threshold);

#ifdef __cplusplus
}
#endif

#endif /* RCOLLECTD_H */
