/* The system protobuf-c runtime (libprotobuf-c-dev). */
#ifndef BANTIN_CPROTOBUFC_SHIM_H
#define BANTIN_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif
