/* test_webhook_apply: an RFC 6902 JSON Patch applier for tests (add, remove, replace, test). */
#ifndef TWA_TEST_WEBHOOK_APPLY_H
#define TWA_TEST_WEBHOOK_APPLY_H

#include <jansson.h>

/*
 * Apply the operations of patch (a JSON array) to doc in place, strictly
 * as an API server does: a missing parent, a bad index, a failed test or an
 * unknown op fails the whole patch. Returns 0, or -1 and an allocated
 * cause naming the operation. doc may be partly changed on failure.
 */
int apply_patch(json_t *doc, const json_t *patch, char **cause);

#endif
