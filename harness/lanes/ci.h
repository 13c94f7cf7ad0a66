/* harness/lanes/ci.h - the `maplab ci` subcommand. */
#ifndef MAPLAB_CI_H
#define MAPLAB_CI_H

#include <stddef.h>

#include <jansson.h>

int ci_main(int argc, char **argv);

/* --variant narrowed (variants, a comma list): into buf, the variants
 * plus the reference variants the expectation rules' time ratios need in
 * the same run, for the incidents selected (all when NULL); says on
 * stderr which it added, and lists them in added (alen bytes).  The ci
 * and tsan lanes both use it; ci does not judge the added cells. */
void ci_with_refs(const json_t *exp, const char *incidents,
		  const char *variants, char *buf, size_t len, char *added,
		  size_t alen);

#endif
