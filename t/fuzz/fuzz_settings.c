/* Fuzz target: the settings parser over an annotation set read from bytes. */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "settings.h"
#include "xalloc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Input: lines "key=value"; a line without '=' is a key with a NULL value.
 * Keys without a twa.dev/ prefix get it, so most inputs reach the parsers.
 * The set is parsed twice, the second time over the first result, as the
 * agent does when annotations change.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xmalloc(size + 1), *line, *save = NULL, *p;
	struct settings_kv kv[64];
	char *keys[64];
	size_t n = 0;
	struct settings a, b;
	struct settings_errors e;

	memcpy(text, data, size);
	text[size] = '\0';
	for (p = text; n < 64 && (line = strtok_r(p, "\n", &save)) != NULL; p = NULL) {
		char *eq = strchr(line, '=');

		if (eq != NULL)
			*eq = '\0';
		keys[n] = strncmp(line, "twa.dev/", 8) == 0 || line[0] == '!' ?
		    xstrdup(line[0] == '!' ? line + 1 : line) :
		    xasprintf("twa.dev/%s", line);
		kv[n].key = keys[n];
		kv[n].value = eq != NULL ? eq + 1 : NULL;
		n++;
	}
	settings_parse(NULL, kv, n, &a, &e);
	free(settings_errors_join(&e));
	settings_errors_free(&e);
	settings_parse(&a, kv, n / 2, &b, &e);
	settings_errors_free(&e);
	if (!settings_equal(&b, &b))
		abort();
	settings_clear(&a);
	settings_clear(&b);
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(text);
	return 0;
}
