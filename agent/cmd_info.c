/* cmd_info: the informational subcommands: version, annotations, build-id. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <grpc/grpc.h>
#include <jansson.h>
#include <openssl/opensslv.h>
#include <protobuf-c/protobuf-c.h>

#include "buildid.h"
#include "cmd.h"
#include "opts.h"
#include "settings.h"
#include "xalloc.h"

/* Parse a command's options; returns -1 to continue, else an exit status. */
static int
cmd_options(const char *synopsis, const char *description,
    const struct opt_spec *specs, size_t n, int argc, char **argv,
    struct opt_value *vals, int *next)
{
	char *cause = NULL;
	int r = opts_parse(specs, n, argc, argv, 1, vals, next, &cause);

	if (r == 1) {
		opts_usage(stdout, synopsis, description, specs, n);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "twa: %s\n", cause);
		free(cause);
		return CMD_EXIT_USAGE;
	}
	return -1;
}

/* twa version. */
int
cmd_version(int argc, char **argv)
{
	int next, r;

	r = cmd_options("twa version", "Print the version of twa, its build "
	    "options and the libraries it runs with.", NULL, 0, argc, argv,
	    NULL, &next);
	if (r >= 0)
		return r;
	if (next < argc) {
		fprintf(stderr, "twa version: unexpected argument \"%.64s\"\n",
		    argv[next]);
		return CMD_EXIT_USAGE;
	}
	printf("twa %s\n", PACKAGE_VERSION);
	printf("build options: %s\n", TWA_BUILD_OPTIONS);
	printf("libraries: libevent %s, %s, grpc %s, protobuf-c %s, "
	    "jansson %s, %s\n", event_get_version(), curl_version(),
	    grpc_version_string(), protobuf_c_version(), JANSSON_VERSION,
	    OPENSSL_VERSION_TEXT);
	return 0;
}

/* twa annotations. */
int
cmd_annotations(int argc, char **argv)
{
	int next, r;

	r = cmd_options("twa annotations", "Print every twa label and "
	    "annotation with its type, default and what it accepts.", NULL, 0,
	    argc, argv, NULL, &next);
	if (r >= 0)
		return r;
	if (next < argc) {
		fprintf(stderr, "twa annotations: unexpected argument \"%.64s\"\n",
		    argv[next]);
		return CMD_EXIT_USAGE;
	}
	settings_print_reference(stdout);
	return 0;
}

/*
 * Build ID of a parsed object: a Deployment (its spec.template), a pod or
 * pod template, or a bare container. Caller frees.
 */
static char *
cmd_build_id_of(const json_t *obj, char **cause)
{
	const json_t *tmpl;

	if (!json_is_object(obj)) {
		*cause = xstrdup("expected a JSON object");
		return NULL;
	}
	tmpl = json_object_get(json_object_get(obj, "spec"), "template");
	if (json_is_object(tmpl))
		return buildid_for_pod(tmpl, cause);
	if (json_is_object(json_object_get(obj, "spec")))
		return buildid_for_pod(obj, cause);
	return buildid_compute_json(obj, NULL, cause);
}

/* twa build-id [FILE]. */
int
cmd_build_id(int argc, char **argv)
{
	const char *path;
	json_error_t err;
	json_t *obj;
	char *id, *cause = NULL;
	int next, r;

	r = cmd_options("twa build-id [FILE|-]", "Print the build ID twa gives "
	    "the worker version described by FILE (default: standard input):\n"
	    "a Deployment (`kubectl get deploy NAME -o json`), a pod, a pod "
	    "template or one container, as JSON.", NULL, 0, argc, argv, NULL,
	    &next);
	if (r >= 0)
		return r;
	if (argc - next > 1) {
		fprintf(stderr, "twa build-id: expected at most one FILE\n");
		return CMD_EXIT_USAGE;
	}
	path = next < argc ? argv[next] : "-";
	if (strcmp(path, "-") == 0)
		obj = json_loadf(stdin, JSON_REJECT_DUPLICATES, &err);
	else
		obj = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (obj == NULL) {
		fprintf(stderr, "twa build-id: %s: invalid JSON at line %d "
		    "column %d: %s\n", path, err.line, err.column, err.text);
		return 1;
	}
	id = cmd_build_id_of(obj, &cause);
	json_decref(obj);
	if (id == NULL) {
		fprintf(stderr, "twa build-id: %s: %s\n", path, cause);
		free(cause);
		return 1;
	}
	printf("%s\n", id);
	free(id);
	return 0;
}
