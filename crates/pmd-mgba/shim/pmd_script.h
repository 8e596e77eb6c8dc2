/* pmd_script: mGBA's own scripting engine (Lua 5.4) hosted on a pmd_core,
 * with no frontend, plus the few core accessors the socket server needs
 * beyond pmd_mgba.h (memory domains, header strings).
 *
 * As in pmd_mgba.h only integers, strings, byte pointers and opaque
 * handles cross this boundary. */
#ifndef PMD_SCRIPT_H
#define PMD_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "pmd_mgba.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A script context attached to one core. */
typedef struct pmd_script pmd_script;

/* Levels handed to the console sink. */
enum {
    PMD_SCRIPT_LOG = 0,    /* console:log */
    PMD_SCRIPT_WARN = 1,   /* console:warn */
    PMD_SCRIPT_ERROR = 2,  /* console:error, and errors the socket library catches */
    PMD_SCRIPT_BUFFER = 3, /* text printed into a console:createBuffer buffer */
};

/* Receives what the script prints; `user` is the pointer given to
 * pmd_script_new. Called only from inside pmd_script_* calls, on the
 * calling thread. */
typedef void (*pmd_script_sink)(void *user, int level, const char *message);

/* Creates the scripting context on `core` (which must outlive it), in the
 * order mGBA's frontends use: stdlib, socket, Lua engine, logger, core.
 * Savestate slots and unnamed screenshots go to `state_dir` as
 * `<base_name>.ssN` / `<base_name>-N.png` when `state_dir` is not NULL.
 * Returns NULL when memory or the Lua engine is missing. */
pmd_script *pmd_script_new(pmd_core *core, const char *state_dir, const char *base_name,
                           pmd_script_sink sink, void *user);
/* Removes every hook from the core, then frees the context. */
void pmd_script_free(pmd_script *script);

/* Compiles and runs the Lua file at `path` (the chunk is named after the
 * path, so errors read "path:line: message"). Returns 1 on success, 0 when
 * the file cannot be read or compiled, -1 when running it raised an error;
 * the reason is in pmd_script_error. */
int pmd_script_load(pmd_script *script, const char *path);
/* Compiles and runs Lua source held in memory, named `name`. */
int pmd_script_load_source(pmd_script *script, const char *name, const char *source, size_t len);

/* Runs every callback registered for `name` ("frame", "start", ...).
 * Returns 1 when all ran, 0 when one raised a Lua error (the message is in
 * pmd_script_error; the other callbacks still ran). */
int pmd_script_trigger(pmd_script *script, const char *name);

/* Callbacks fired from inside emulation (keysRead, crashed, sleep, stop,
 * savedataUpdated, alarm) cannot stop it: a Lua error there is kept and
 * reported here. Returns 1 and copies the message into pmd_script_error
 * when one happened since the last call, else 0. */
int pmd_script_take_pending_error(pmd_script *script);

/* The last error message, or "" (valid until the next pmd_script_* call). */
const char *pmd_script_error(const pmd_script *script);

/* Nested emulation refused since creation (a script calling emu:runFrame
 * from a callback that fires in the middle of a frame). */
uint64_t pmd_script_refused_reentry(const pmd_script *script);

/* SIGINT and SIGTERM set a flag instead of killing the process (installed
 * once, process-wide); pmd_script_stop_requested reads it. */
void pmd_script_install_stop_signals(void);
int pmd_script_stop_requested(void);

/* ---- Core accessors for the socket server ---- */

/* Memory domains, in mGBA's numbering of pmd_core_domain's `which`. */
enum {
    PMD_DOMAIN_BIOS = 0,
    PMD_DOMAIN_WRAM = 1,
    PMD_DOMAIN_IWRAM = 2,
    PMD_DOMAIN_PALETTE = 3,
    PMD_DOMAIN_VRAM = 4,
    PMD_DOMAIN_OAM = 5,
    PMD_DOMAIN_CART0 = 6,
};

/* Live pointer to a memory domain's backing block and its size; NULL for an
 * unknown domain or one the core does not back with memory. */
uint8_t *pmd_core_domain(pmd_core *core, int which, size_t *size);
/* The ROM header's title and game code as mGBA's scripting API returns
 * them, NUL-terminated into `out` (at least 17 bytes). */
void pmd_core_game_title(pmd_core *core, char *out, size_t len);
void pmd_core_game_code(pmd_core *core, char *out, size_t len);

/* Bus access as mGBA's scripting API does it (emu:read8 ... write32 go
 * through the core's busRead / busWrite; memoryDomain writes through
 * rawWrite, which also keeps the renderer's caches of VRAM, palette and
 * OAM up to date). `width` is 1, 2 or 4; other widths read 0 and write
 * nothing. */
uint32_t pmd_core_bus_read(pmd_core *core, uint32_t address, int width);
void pmd_core_bus_read_range(pmd_core *core, uint32_t address, uint8_t *out, size_t len);
void pmd_core_bus_write(pmd_core *core, uint32_t address, int width, uint32_t value);
void pmd_core_raw_write(pmd_core *core, uint32_t address, int width, uint32_t value);

#ifdef __cplusplus
}
#endif

#endif
