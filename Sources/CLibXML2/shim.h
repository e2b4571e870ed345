// libxml2 for Swift. Debian builds libxml2 with ICU, and its headers then include system ICU
// headers that clash with Foundation's own ICU module ("'UErrorCode' has different definitions
// in different modules", on clean builds only): xmlversion.h first, then ICU switched off for
// the rest (PLATFORM.md). xmlFree is a macro Swift cannot import.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlwriter.h>
#include <libxml/xmlsave.h>
#include <libxml/xmlIO.h>
#include <libxml/parser.h>

static inline void cimdb_xmlFree(void *p) { xmlFree(p); }
