/* harness/lanes/diagnose.h - the `maplab diagnose` subcommand. */
#ifndef MAPLAB_DIAGNOSE_H
#define MAPLAB_DIAGNOSE_H

int diagnose_main(int argc, char **argv);

#endif
