/* buildid: the build ID of a worker version (DESIGN §3), shared by webhook and leader. */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buildid.h"
#include "parse.h"
#include "settings.h"
#include "xalloc.h"

/* Hex characters of the content hash. */
#define HASH_HEX 10
/* Hex characters kept of an image digest when there is no tag. */
#define DIGEST_HEX 12
/* Longest container JSON accepted. */
#define CONTAINER_JSON_MAX (1024 * 1024)

/* Whether c may appear in a build ID. */
static bool
allowed(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* Whether c is trimmed from the ends. */
static bool
trimmed(char c)
{
	return c == '-' || c == '.' || c == '_';
}

/* Sanitise a build ID in place. */
void
buildid_sanitize(char *s, size_t max)
{
	size_t r = 0, w = 0, start = 0;
	bool in_run = false;

	for (; s[r] != '\0'; r++) {
		if (allowed((unsigned char)s[r])) {
			s[w++] = s[r];
			in_run = false;
		} else if (!in_run) {
			s[w++] = '-';
			in_run = true;
		}
	}
	s[w] = '\0';
	while (s[start] != '\0' && trimmed(s[start]))
		start++;
	memmove(s, s + start, strlen(s + start) + 1);
	if (strlen(s) > max)
		s[max] = '\0';
	for (w = strlen(s); w > 0 && trimmed(s[w - 1]); w--)
		s[w - 1] = '\0';
}

/*
 * The human part of an image reference: its tag, else the first hex of its
 * digest, else the last component of its name. Caller frees.
 */
static char *
image_prefix(const char *image)
{
	const char *at = strchr(image, '@'), *name_end, *slash, *colon;

	name_end = at != NULL ? at : image + strlen(image);
	slash = NULL;
	for (const char *p = image; p < name_end; p++)
		if (*p == '/')
			slash = p;
	colon = NULL;
	for (const char *p = slash != NULL ? slash : image; p < name_end; p++)
		if (*p == ':')
			colon = p;
	if (colon != NULL && colon + 1 < name_end)
		return xstrndup(colon + 1, (size_t)(name_end - colon - 1));
	if (at != NULL) {
		const char *hex = strchr(at, ':');

		hex = hex != NULL ? hex + 1 : at + 1;
		return xstrndup(hex, DIGEST_HEX);
	}
	slash = slash != NULL ? slash + 1 : image;
	return xstrndup(slash, (size_t)(colon != NULL ? colon - slash :
	    name_end - slash));
}

/* Hex of SHA-256 over the canonical JSON of the fields that define the code. */
static void
content_hash(const json_t *container, char out[HASH_HEX + 1])
{
	static const char *const keys[] = { "image", "command", "args", "env" };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	json_t *canon = json_object();
	char *text;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		json_t *v = json_object_get(container, keys[i]);

		if (v != NULL && !json_is_null(v))
			json_object_set(canon, keys[i], v);
	}
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL ||
	    EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) != 1)
		abort();
	for (size_t i = 0; i < HASH_HEX / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	free(text);
	json_decref(canon);
}

/* Use the override annotation, sanitised. */
static char *
from_override(const char *override, char **cause)
{
	char *id = xstrdup(override);

	buildid_sanitize(id, BUILDID_MAX);
	if (*id == '\0') {
		char *q = parse_quote(override);

		*cause = xasprintf("annotation %s: value %s leaves nothing once "
		    "sanitised; expected letters, digits, '.', '_' or '-'",
		    BUILDID_ANNOTATION, q);
		free(q);
		free(id);
		return NULL;
	}
	return id;
}

/* Compute from a parsed container object. */
char *
buildid_compute_json(const json_t *container, const char *override,
    char **cause)
{
	char hash[HASH_HEX + 1], *prefix, *id;
	const json_t *image;

	if (override != NULL)
		return from_override(override, cause);
	if (!json_is_object(container)) {
		*cause = xstrdup("container: expected a JSON object");
		return NULL;
	}
	image = json_object_get(container, "image");
	if (!json_is_string(image) || json_string_length(image) == 0) {
		*cause = xstrdup("container: \"image\" is missing or empty; "
		    "expected an image reference");
		return NULL;
	}
	content_hash(container, hash);
	prefix = image_prefix(json_string_value(image));
	buildid_sanitize(prefix, BUILDID_MAX - HASH_HEX - 1);
	id = *prefix != '\0' ? xasprintf("%s-%s", prefix, hash) : xstrdup(hash);
	free(prefix);
	return id;
}

/* Compute from container JSON text. */
char *
buildid_compute(const char *container_json, size_t len, const char *override,
    char **cause)
{
	json_error_t err;
	json_t *c;
	char *id;

	if (override != NULL)
		return from_override(override, cause);
	if (len > CONTAINER_JSON_MAX) {
		*cause = xasprintf("container JSON of %zu bytes is larger than "
		    "the %d allowed", len, CONTAINER_JSON_MAX);
		return NULL;
	}
	c = json_loadb(container_json, len, JSON_REJECT_DUPLICATES, &err);
	if (c == NULL) {
		*cause = xasprintf("container JSON is invalid at character %d: %s",
		    err.position, err.text);
		return NULL;
	}
	id = buildid_compute_json(c, NULL, cause);
	json_decref(c);
	return id;
}

/* Build ID of a pod or pod template. */
char *
buildid_for_pod(const json_t *pod, char **cause)
{
	const json_t *ann, *containers, *c;
	const char *override = NULL;
	size_t i;

	ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
	if (json_is_string(json_object_get(ann, BUILDID_ANNOTATION)))
		override = json_string_value(json_object_get(ann,
		    BUILDID_ANNOTATION));
	if (override != NULL)
		return from_override(override, cause);
	containers = json_object_get(json_object_get(pod, "spec"), "containers");
	if (!json_is_array(containers)) {
		*cause = xstrdup("spec.containers: expected an array of containers");
		return NULL;
	}
	json_array_foreach(containers, i, c) {
		const json_t *name = json_object_get(c, "name");

		if (json_is_string(name) && strcmp(json_string_value(name),
		    SETTINGS_AGENT_CONTAINER) == 0)
			continue;
		return buildid_compute_json(c, NULL, cause);
	}
	*cause = xasprintf("spec.containers: no worker container (every "
	    "container is the agent \"%s\")", SETTINGS_AGENT_CONTAINER);
	return NULL;
}
