/* opts: command-line options declared once in a table that drives parsing and --help. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "parse.h"
#include "xalloc.h"

/* Read one value into v per its spec. */
static int
opts_value(const struct opt_spec *o, const char *text, struct opt_value *v,
    char **cause)
{
	char *inner = NULL;

	switch (o->type) {
	case OPT_FLAG:
		v->num = 1;
		break;
	case OPT_STRING:
		if (*text == '\0') {
			*cause = xasprintf("option --%s: expected a non-empty %s",
			    o->name, o->metavar != NULL ? o->metavar : "value");
			return -1;
		}
		break;
	case OPT_INT:
		if (parse_int(text, o->min, o->max, &v->num, &inner) != 0)
			goto bad;
		break;
	case OPT_DURATION:
		if (parse_duration(text, o->min, o->max, &v->num, &inner) != 0)
			goto bad;
		break;
	}
	v->str = text;
	v->set = true;
	return 0;
bad:
	*cause = xasprintf("option --%s: %s", o->name, inner);
	free(inner);
	return -1;
}

/* Find an option by long name (length len) or short name. */
static const struct opt_spec *
opts_find(const struct opt_spec *specs, size_t n, const char *lname,
    size_t len, char sname)
{
	for (size_t i = 0; i < n; i++) {
		if (lname != NULL && strlen(specs[i].name) == len &&
		    strncmp(specs[i].name, lname, len) == 0)
			return &specs[i];
		if (lname == NULL && sname != 0 && specs[i].short_name == sname)
			return &specs[i];
	}
	return NULL;
}

/* Parse argv against the table. */
int
opts_parse(const struct opt_spec *specs, size_t n, int argc,
    char *const argv[], int first, struct opt_value *vals, int *next,
    char **cause)
{
	int i;

	if (n > 0)
		memset(vals, 0, n * sizeof *vals);
	for (size_t k = 0; k < n; k++) {
		if (specs[k].def != NULL &&
		    opts_value(&specs[k], specs[k].def, &vals[k], cause) != 0)
			return -1;
		vals[k].given = false;
	}
	for (i = first; i < argc; i++) {
		const char *a = argv[i], *eq = NULL, *text;
		const struct opt_spec *o;
		struct opt_value *v;

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 1;
		if (a[1] == '-') {
			eq = strchr(a + 2, '=');
			o = opts_find(specs, n, a + 2, eq != NULL ?
			    (size_t)(eq - a - 2) : strlen(a + 2), 0);
		} else {
			o = a[2] == '\0' ? opts_find(specs, n, NULL, 0, a[1]) : NULL;
		}
		if (o == NULL) {
			char *q = parse_quote(a);

			*cause = xasprintf("unknown option %s (see --help)", q);
			free(q);
			return -1;
		}
		v = &vals[o - specs];
		if (o->type == OPT_FLAG) {
			if (eq != NULL) {
				*cause = xasprintf("option --%s takes no value", o->name);
				return -1;
			}
			text = "1";
		} else if (eq != NULL)
			text = eq + 1;
		else if (i + 1 < argc)
			text = argv[++i];
		else {
			*cause = xasprintf("option --%s: expected a %s after it",
			    o->name, o->metavar != NULL ? o->metavar : "value");
			return -1;
		}
		if (opts_value(o, text, v, cause) != 0)
			return -1;
		v->given = true;
	}
	*next = i;
	return 0;
}

/* Print usage. */
void
opts_usage(FILE *f, const char *synopsis, const char *description,
    const struct opt_spec *specs, size_t n)
{
	fprintf(f, "usage: %s\n\n%s\n", synopsis, description);
	if (n > 0)
		fprintf(f, "\noptions:\n");
	for (size_t i = 0; i < n; i++) {
		const struct opt_spec *o = &specs[i];
		char left[96];

		if (o->type == OPT_FLAG)
			snprintf(left, sizeof left, "--%s", o->name);
		else
			snprintf(left, sizeof left, "--%s %s", o->name,
			    o->metavar != NULL ? o->metavar : "VALUE");
		if (o->short_name != 0)
			fprintf(f, "  -%c, %-28s %s", o->short_name, left, o->help);
		else
			fprintf(f, "      %-28s %s", left, o->help);
		if (o->def != NULL && o->type != OPT_FLAG)
			fprintf(f, " (default: %s)", o->def);
		fputc('\n', f);
	}
	fprintf(f, "  -h, %-28s %s\n", "--help", "show this help and exit");
}
