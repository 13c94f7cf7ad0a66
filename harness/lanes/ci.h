/* harness/lanes/ci.h - the `maplab ci` subcommand. */
#ifndef MAPLAB_CI_H
#define MAPLAB_CI_H

int ci_main(int argc, char **argv);

#endif
