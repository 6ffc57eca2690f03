/*
 * temporal_decode: Temporal response messages (protobuf wire bytes) into the
 * plain results of temporal.h. Pure functions, used by temporal.c and by
 * tests and fuzzers that feed hostile bytes.
 */
#ifndef TWA_TEMPORAL_DECODE_H
#define TWA_TEMPORAL_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "temporal.h"

/*
 * Each decoder parses one response message. Returns 0 and a result the
 * caller frees with the matching temporal_*_free (or, for token and count,
 * fills *out), or -1 and an allocated cause naming the message.
 */
int temporal_decode_deployment(const uint8_t *buf, size_t len,
    struct temporal_deployment **out, char **cause);
int temporal_decode_set_current(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause);
int temporal_decode_set_ramping(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause);
int temporal_decode_set_manager(const uint8_t *buf, size_t len,
    struct temporal_token *out, char **cause);
int temporal_decode_version_info(const uint8_t *buf, size_t len,
    struct temporal_version_info **out, char **cause);
int temporal_decode_delete_version(const uint8_t *buf, size_t len,
    char **cause);
int temporal_decode_task_queue(const uint8_t *buf, size_t len,
    struct temporal_task_queue_info **out, char **cause);
int temporal_decode_started(const uint8_t *buf, size_t len,
    struct temporal_started **out, char **cause);
int temporal_decode_workflow(const uint8_t *buf, size_t len,
    struct temporal_workflow **out, char **cause);
int temporal_decode_count(const uint8_t *buf, size_t len, int64_t *out,
    char **cause);
int temporal_decode_system_info(const uint8_t *buf, size_t len,
    struct temporal_system_info **out, char **cause);

#endif
