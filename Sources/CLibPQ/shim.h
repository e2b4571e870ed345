#ifndef CIMDB_CLIBPQ_SHIM_H
#define CIMDB_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
