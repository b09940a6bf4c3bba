/*
 * Variadic entry points of the collectd ABI. Stable Rust cannot define
 * C-variadic functions, so these format in C and hand a finished string to Rust.
 */
#include "rcollectd.h"
