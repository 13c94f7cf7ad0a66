/*
 * harness/lanes/envelope.h - `maplab envelope INCIDENT`: the capacity
 * envelope (docs/envelope.md).
 */
#ifndef MAPLAB_ENVELOPE_H
#define MAPLAB_ENVELOPE_H

int envelope_main(int argc, char **argv);

#endif
