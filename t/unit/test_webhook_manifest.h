/*
 * test_webhook_manifest: the deploy/ manifests for tests: loading the
 * JSON-compatible YAML of deploy/README.md and checking every document
 * against what the webhook and the agent expect.
 */
#ifndef TWA_TEST_WEBHOOK_MANIFEST_H
#define TWA_TEST_WEBHOOK_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* The webhook's namespace and the name of its Deployment, Service, account. */
#define WH_NS		"twa-system"
#define WH_NAME		"twa-webhook"

/* One document of a manifest file. */
struct doc {
	char	*where;		/* "file:line" */
	json_t	*obj;
};

/* The documents of one directory. */
struct docs {
	struct doc	*v;
	size_t		 n;
};

/* What a check found wrong, one sentence each. */
struct problems {
	char	**v;
	size_t	  n;
};

/* All problems as one text, one per line. Caller frees. */
char *problems_text(const struct problems *p);
/* Free the problems and zero p. */
void problems_free(struct problems *p);
/* Free the documents and zero d. */
void docs_free(struct docs *d);
/*
 * Parse text (named file) as documents split by "---" lines, comments only
 * before a document's JSON, no tabs, one JSON object each; appends to d.
 * Returns 0, or -1 and an allocated cause naming file and line.
 */
int parse_manifest(const char *file, const char *text, struct docs *d,
    char **cause);
/* A whole file's text (the test fails when it cannot be read). Caller frees. */
char *slurp(const char *path);
/* Load every *.yaml of deploy/<rel> in name order into d (fails the test on errors). */
void load_dir(const char *rel, struct docs *d);
/* Member of o by ':'-separated keys and indices, or NULL. Borrowed. */
json_t *at(const json_t *o, const char *path);
/* The document of kind and name (any namespace when ns is NULL), or NULL. */
json_t *find(const struct docs *d, const char *kind, const char *name,
    const char *ns);
/* Check one webhook variant (self-signed or cert-manager) into p. */
void check_variant(const struct docs *d, bool self_signed, struct problems *p);
/* Check the example workers with the webhook's flags webhook_args into p. */
void check_examples(const struct docs *d, const json_t *webhook_args,
    struct problems *p);
/*
 * Packages of twa's libraries the runtime stage (its packages: listed)
 * would lack, one per line; "" when none; NULL without dpkg tools. Caller frees.
 */
char *missing_packages(const char *listed);
/* The packages the Dockerfile's runtime stage installs, space-separated. Caller frees. */
char *runtime_packages(const char *text);
/* Check the Dockerfile text, with the missing packages found, into p. */
void check_dockerfile(const char *text, const char *missing, struct problems *p);

#endif
