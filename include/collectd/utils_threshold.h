/* Compatibility name for plugins written against collectd's header layout. */
#include "rcollectd.h"
