/* Fuzz target: the build ID function over container and pod JSON. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buildid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check the properties every build ID has. */
static void
check_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > BUILDID_MAX)
		abort();
	for (size_t i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			abort();
	}
	if (strchr("-._", id[0]) != NULL || strchr("-._", id[n - 1]) != NULL)
		abort();
}

/* Input: JSON, tried as one container and as a pod. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL, *id;
	json_t *pod;

	id = buildid_compute((const char *)data, size, NULL, &cause);
	if (id != NULL)
		check_id(id);
	free(id);
	free(cause);
	cause = NULL;
	pod = json_loadb((const char *)data, size, 0, NULL);
	if (pod != NULL) {
		id = buildid_for_pod(pod, &cause);
		if (id != NULL)
			check_id(id);
		free(id);
		free(cause);
		json_decref(pod);
	}
	return 0;
}
