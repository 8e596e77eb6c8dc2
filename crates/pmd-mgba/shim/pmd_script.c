/* See pmd_script.h. mgba/flags.h must come before any other mGBA header: it
 * sets the build options that change the layout of struct mCore. */
#include <mgba/flags.h>

#include <mgba/core/core.h>
#include <mgba/core/interface.h>
#include <mgba/core/log.h>
#include <mgba/core/scripting.h>
#include <mgba/internal/gba/memory.h>
#include <mgba/internal/script/lua.h>
#include <mgba/script/context.h>
#include <mgba/script/types.h>
#include <mgba-util/table.h>
#include <mgba-util/vfs.h>

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd_script.h"

/* mGBA's console hands every line to an mLogger; this one forwards it to
 * the host's sink instead of mGBA's default logger (which would print BIOS
 * traces and everything else too). */
struct pmd_script_logger {
    struct mLogger d;
    pmd_script *owner;
};

struct pmd_script {
    struct mScriptContext context;
    struct mScriptEngineContext *lua;
    struct mCore *core;
    struct pmd_script_logger logger;
    pmd_script_sink sink;
    void *user;
    char *error;
    char *pending_error;
    int attached;
};

/* Lua scripts may raise any value; mGBA 0.10.1 turns the error into a C
 * string with lua_tostring and strdup, which is NULL (and a crash) for a
 * table, boolean or nil. This prelude makes error() and assert() raise
 * strings only, keeping the position of the caller (the calls to `raise`
 * are deliberately not tail calls, so the levels count the wrapper). */
static const char PRELUDE[] =
    "do\n"
    "  local raise, check, tostr, kind = error, assert, tostring, type\n"
    "  error = function(value, level)\n"
    "    level = level or 1\n"
    "    if kind(value) ~= 'string' and kind(value) ~= 'number' then value = tostr(value) end\n"
    "    if level > 0 then level = level + 1 end\n"
    "    raise(value, level)\n"
    "  end\n"
    "  assert = function(v, message, ...)\n"
    "    if v then return v, message, ... end\n"
    "    if message == nil then message = 'assertion failed!' end\n"
    "    if kind(message) ~= 'string' and kind(message) ~= 'number' then message = tostr(message) end\n"
    "    raise(message, 2)\n"
    "  end\n"
    "end\n";

static char *dup_string(const char *text) {
    if (!text) {
        text = "";
    }
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy) {
        memcpy(copy, text, len + 1);
    }
    return copy;
}

static void set_error(pmd_script *script, const char *message) {
    free(script->error);
    script->error = dup_string(message);
}

static void emit(pmd_script *script, int level, const char *message) {
    if (script->sink) {
        script->sink(script->user, level, message);
    }
}

static void logger_log(struct mLogger *logger, int category, enum mLogLevel level, const char *format,
                       va_list args) {
    (void)category;
    pmd_script *script = ((struct pmd_script_logger *)logger)->owner;
    va_list copy;
    va_copy(copy, args);
    int needed = vsnprintf(NULL, 0, format, copy);
    va_end(copy);
    if (needed < 0) {
        return;
    }
    char *message = malloc((size_t)needed + 1);
    if (!message) {
        return;
    }
    vsnprintf(message, (size_t)needed + 1, format, args);
    int out = PMD_SCRIPT_LOG;
    if (level & (mLOG_ERROR | mLOG_FATAL)) {
        out = PMD_SCRIPT_ERROR;
    } else if (level & mLOG_WARN) {
        out = PMD_SCRIPT_WARN;
    }
    emit(script, out, message);
    free(message);
}

/* ---- console:createBuffer ---- */

/* mGBA's console calls a buffer factory the frontend must supply (NULL
 * without one, and a crash). Headless there is no panel to draw: a buffer
 * keeps its cursor and size so scripts that query them work, and forwards
 * printed text to the sink. */
struct text_buffer {
    struct mScriptTextBuffer d;
    pmd_script *owner;
    uint32_t x, y, cols, rows;
};

static void tb_init(struct mScriptTextBuffer *buffer, const char *name) {
    (void)buffer;
    (void)name;
}

static void tb_deinit(struct mScriptTextBuffer *buffer) {
    free(buffer);
}

static void tb_set_name(struct mScriptTextBuffer *buffer, const char *name) {
    (void)buffer;
    (void)name;
}

static uint32_t tb_get_x(const struct mScriptTextBuffer *buffer) {
    return ((const struct text_buffer *)buffer)->x;
}

static uint32_t tb_get_y(const struct mScriptTextBuffer *buffer) {
    return ((const struct text_buffer *)buffer)->y;
}

static uint32_t tb_cols(const struct mScriptTextBuffer *buffer) {
    return ((const struct text_buffer *)buffer)->cols;
}

static uint32_t tb_rows(const struct mScriptTextBuffer *buffer) {
    return ((const struct text_buffer *)buffer)->rows;
}

static void tb_print(struct mScriptTextBuffer *buffer, const char *text) {
    struct text_buffer *tb = (struct text_buffer *)buffer;
    if (!text) {
        return;
    }
    for (const char *c = text; *c; c++) {
        if (*c == '\n') {
            tb->x = 0;
            tb->y++;
        } else {
            tb->x++;
        }
    }
    emit(tb->owner, PMD_SCRIPT_BUFFER, text);
}

static void tb_clear(struct mScriptTextBuffer *buffer) {
    struct text_buffer *tb = (struct text_buffer *)buffer;
    tb->x = 0;
    tb->y = 0;
}

static void tb_set_size(struct mScriptTextBuffer *buffer, uint32_t cols, uint32_t rows) {
    struct text_buffer *tb = (struct text_buffer *)buffer;
    tb->cols = cols;
    tb->rows = rows;
}

static void tb_move_cursor(struct mScriptTextBuffer *buffer, uint32_t x, uint32_t y) {
    struct text_buffer *tb = (struct text_buffer *)buffer;
    tb->x = x;
    tb->y = y;
}

static void tb_advance(struct mScriptTextBuffer *buffer, int32_t by) {
    struct text_buffer *tb = (struct text_buffer *)buffer;
    tb->x = (uint32_t)((int64_t)tb->x + by);
}

static struct mScriptTextBuffer *make_text_buffer(void *context) {
    struct text_buffer *tb = calloc(1, sizeof(*tb));
    if (!tb) {
        return NULL;
    }
    tb->d = (struct mScriptTextBuffer){
        .init = tb_init,
        .deinit = tb_deinit,
        .setName = tb_set_name,
        .getX = tb_get_x,
        .getY = tb_get_y,
        .cols = tb_cols,
        .rows = tb_rows,
        .print = tb_print,
        .clear = tb_clear,
        .setSize = tb_set_size,
        .moveCursor = tb_move_cursor,
        .advance = tb_advance,
    };
    tb->owner = context;
    tb->cols = 80;
    tb->rows = 24;
    return &tb->d;
}

/* ---- callbacks ---- */

/* mScriptContextTriggerCallback ignores failures; this is the same walk over
 * the callback list (re-reading its size each time, since a callback may
 * add more), keeping the first Lua error. */
static int trigger(pmd_script *script, const char *name, char **first_error) {
    struct mScriptValue *list = HashTableLookup(&script->context.callbacks, name);
    if (!list) {
        return 1;
    }
    int ok = 1;
    for (size_t i = 0; i < mScriptListSize(list->value.list); ++i) {
        struct mScriptValue *fn = mScriptListGetPointer(list->value.list, i);
        if (!fn->type) {
            continue; /* removed */
        }
        if (fn->type->base == mSCRIPT_TYPE_WRAPPER) {
            fn = mScriptValueUnwrap(fn);
        }
        struct mScriptFrame frame;
        mScriptFrameInit(&frame);
        bool called = mScriptInvoke(fn, &frame);
        mScriptFrameDeinit(&frame);
        if (!called) {
            /* A failure without a Lua error (a return value mGBA cannot
             * convert) is not the script's fault at run time. */
            const char *message = script->lua->getError(script->lua);
            if (message && ok) {
                ok = 0;
                if (first_error && !*first_error) {
                    size_t len = strlen(name) + strlen(message) + 32;
                    char *text = malloc(len);
                    if (text) {
                        snprintf(text, len, "%s (in a \"%s\" callback)", message, name);
                    }
                    *first_error = text;
                }
            }
        }
    }
    return ok;
}

int pmd_script_trigger(pmd_script *script, const char *name) {
    char *error = NULL;
    int ok = trigger(script, name, &error);
    if (!ok) {
        set_error(script, error ? error : "callback failed");
    }
    free(error);
    return ok;
}

static void from_core(void *context, const char *name) {
    pmd_script *script = context;
    char *error = NULL;
    if (!trigger(script, name, &error) && error && !script->pending_error) {
        script->pending_error = error;
        return;
    }
    free(error);
}

static void cb_crashed(void *context) {
    from_core(context, "crashed");
}
static void cb_sleep(void *context) {
    from_core(context, "sleep");
}
static void cb_stop(void *context) {
    from_core(context, "stop");
}
static void cb_keys_read(void *context) {
    from_core(context, "keysRead");
}
static void cb_savedata(void *context) {
    from_core(context, "savedataUpdated");
}
static void cb_alarm(void *context) {
    from_core(context, "alarm");
}

int pmd_script_take_pending_error(pmd_script *script) {
    if (!script->pending_error) {
        return 0;
    }
    free(script->error);
    script->error = script->pending_error;
    script->pending_error = NULL;
    return 1;
}

/* ---- nested emulation ---- */

/* A callback fired from inside a frame (keysRead, ...) that calls
 * emu:runFrame or emu:step would re-enter mGBA's CPU loop from one of its
 * own events. The core's run functions are wrapped so that a nested call
 * is refused instead. All GBA cores share one set of run functions, so the
 * originals are process-wide; the depth is per thread because a core runs
 * on one thread at a time. */
static void (*g_run_frame)(struct mCore *);
static void (*g_run_loop)(struct mCore *);
static void (*g_step)(struct mCore *);
static _Thread_local int t_depth;
static uint64_t g_refused;

#define GUARDED(NAME, ORIGINAL)                                  \
    static void NAME(struct mCore *core) {                       \
        if (t_depth > 0) {                                       \
            __atomic_add_fetch(&g_refused, 1, __ATOMIC_RELAXED); \
            return;                                              \
        }                                                        \
        t_depth++;                                               \
        ORIGINAL(core);                                          \
        t_depth--;                                               \
    }
GUARDED(guarded_run_frame, g_run_frame)
GUARDED(guarded_run_loop, g_run_loop)
GUARDED(guarded_step, g_step)
#undef GUARDED

/* Scripts may be created on several threads at once. */
static pthread_mutex_t g_guard_lock = PTHREAD_MUTEX_INITIALIZER;

static int install_guards(struct mCore *core) {
    if (core->runFrame == guarded_run_frame) {
        return 1;
    }
    int installed = 0;
    pthread_mutex_lock(&g_guard_lock);
    if (!g_run_frame) {
        /* First core: remember its run functions. They never change
         * afterwards, so the wrappers read them without the lock. */
        g_run_loop = core->runLoop;
        g_step = core->step;
        g_run_frame = core->runFrame;
    }
    if (g_run_frame == core->runFrame && g_run_loop == core->runLoop && g_step == core->step) {
        core->runFrame = guarded_run_frame;
        core->runLoop = guarded_run_loop;
        core->step = guarded_step;
        installed = 1;
    }
    /* Otherwise another core type: leave it alone. */
    pthread_mutex_unlock(&g_guard_lock);
    return installed;
}

static void remove_guards(struct mCore *core) {
    if (core->runFrame == guarded_run_frame) {
        core->runFrame = g_run_frame;
        core->runLoop = g_run_loop;
        core->step = g_step;
    }
}

uint64_t pmd_script_refused_reentry(const pmd_script *script) {
    (void)script;
    return __atomic_load_n(&g_refused, __ATOMIC_RELAXED);
}

/* ---- life cycle ---- */

pmd_script *pmd_script_new(pmd_core *handle, const char *state_dir, const char *base_name,
                           pmd_script_sink sink, void *user) {
    struct mCore *core = pmd_core_mcore(handle);
    if (!core) {
        return NULL;
    }
    pmd_script *script = calloc(1, sizeof(*script));
    if (!script) {
        return NULL;
    }
    script->core = core;
    script->sink = sink;
    script->user = user;
    script->logger.d.log = logger_log;
    script->logger.d.filter = NULL;
    script->logger.owner = script;

    mScriptContextInit(&script->context);
    mScriptContextAttachStdlib(&script->context);
    mScriptContextAttachSocket(&script->context);
    script->lua = mScriptContextRegisterEngine(&script->context, mSCRIPT_ENGINE_LUA);
    if (!script->lua) {
        mScriptContextDeinit(&script->context);
        free(script);
        return NULL;
    }
    /* Without a logger the script has no `console` global. */
    mScriptContextAttachLogger(&script->context, &script->logger.d);
    mScriptContextSetTextBufferFactory(&script->context, make_text_buffer, script);

    if (state_dir && !core->dirs.base) {
        struct VDir *dir = VDirOpen(state_dir);
        if (dir) {
            /* The core owns it from here: its deinit closes the set. */
            mDirectorySetAttachBase(&core->dirs, dir);
        }
    }
    if (base_name) {
        snprintf(core->dirs.baseName, sizeof(core->dirs.baseName), "%s", base_name);
    }

    mScriptContextAttachCore(&script->context, core);
    script->attached = 1;
    install_guards(core);

    struct mCoreCallbacks callbacks = {
        .context = script,
        .coreCrashed = cb_crashed,
        .sleep = cb_sleep,
        .shutdown = cb_stop,
        .keysRead = cb_keys_read,
        .savedataUpdated = cb_savedata,
        .alarm = cb_alarm,
    };
    core->addCoreCallbacks(core, &callbacks);

    if (pmd_script_load_source(script, "prelude", PRELUDE, sizeof(PRELUDE) - 1) != 1) {
        pmd_script_free(script);
        return NULL;
    }
    return script;
}

void pmd_script_free(pmd_script *script) {
    if (!script) {
        return;
    }
    /* Nothing in the core may point at the context once it is gone. */
    script->core->clearCoreCallbacks(script->core);
    remove_guards(script->core);
    if (script->attached) {
        mScriptContextDetachCore(&script->context);
    }
    mScriptContextDeinit(&script->context);
    free(script->error);
    free(script->pending_error);
    free(script);
}

static int run_loaded(pmd_script *script, int loaded) {
    if (!loaded) {
        const char *message = script->lua->getError(script->lua);
        set_error(script, message ? message : "cannot read the script");
        return 0;
    }
    if (!script->lua->run(script->lua)) {
        const char *message = script->lua->getError(script->lua);
        set_error(script, message ? message : "the script failed");
        return -1;
    }
    return 1;
}

int pmd_script_load(pmd_script *script, const char *path) {
    struct VFile *vf = VFileOpen(path, O_RDONLY);
    if (!vf) {
        set_error(script, "cannot open the script");
        return 0;
    }
    /* Straight to the engine: mScriptContextLoadFile asks each engine
     * whether the file name looks like its language first. */
    int loaded = script->lua->load(script->lua, path, vf);
    vf->close(vf);
    return run_loaded(script, loaded);
}

int pmd_script_load_source(pmd_script *script, const char *name, const char *source, size_t len) {
    struct VFile *vf = VFileFromConstMemory(source, len);
    if (!vf) {
        set_error(script, "out of memory");
        return 0;
    }
    /* A name starting with '*' is shown as is, without a path. */
    char chunk[128];
    snprintf(chunk, sizeof(chunk), "*%s", name);
    int loaded = script->lua->load(script->lua, chunk, vf);
    vf->close(vf);
    return run_loaded(script, loaded);
}

const char *pmd_script_error(const pmd_script *script) {
    return script->error ? script->error : "";
}

/* ---- stop signals ---- */

static volatile sig_atomic_t g_stop;

static void on_stop_signal(int signal) {
    (void)signal;
    g_stop = 1;
}

void pmd_script_install_stop_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

int pmd_script_stop_requested(void) {
    return g_stop ? 1 : 0;
}

/* ---- core accessors ---- */

uint8_t *pmd_core_domain(pmd_core *handle, int which, size_t *size) {
    static const int regions[] = {
        [PMD_DOMAIN_BIOS] = REGION_BIOS,       [PMD_DOMAIN_WRAM] = REGION_WORKING_RAM,
        [PMD_DOMAIN_IWRAM] = REGION_WORKING_IRAM, [PMD_DOMAIN_PALETTE] = REGION_PALETTE_RAM,
        [PMD_DOMAIN_VRAM] = REGION_VRAM,       [PMD_DOMAIN_OAM] = REGION_OAM,
        [PMD_DOMAIN_CART0] = REGION_CART0,
    };
    *size = 0;
    struct mCore *core = pmd_core_mcore(handle);
    if (!core || which < 0 || (size_t)which >= sizeof(regions) / sizeof(regions[0])) {
        return NULL;
    }
    size_t out = 0;
    void *block = core->getMemoryBlock(core, (size_t)regions[which], &out);
    *size = block ? out : 0;
    return block;
}

void pmd_core_game_title(pmd_core *handle, char *out, size_t len) {
    char title[32] = {0};
    struct mCore *core = pmd_core_mcore(handle);
    core->getGameTitle(core, title);
    snprintf(out, len, "%.*s", (int)sizeof(title), title);
}

void pmd_core_game_code(pmd_core *handle, char *out, size_t len) {
    char code[16] = {0};
    struct mCore *core = pmd_core_mcore(handle);
    core->getGameCode(core, code);
    snprintf(out, len, "%.*s", (int)sizeof(code), code);
}

uint32_t pmd_core_bus_read(pmd_core *handle, uint32_t address, int width) {
    struct mCore *core = pmd_core_mcore(handle);
    switch (width) {
    case 1:
        return core->busRead8(core, address);
    case 2:
        return core->busRead16(core, address);
    case 4:
        return core->busRead32(core, address);
    default:
        return 0;
    }
}

void pmd_core_bus_read_range(pmd_core *handle, uint32_t address, uint8_t *out, size_t len) {
    struct mCore *core = pmd_core_mcore(handle);
    for (size_t i = 0; i < len; ++i) {
        out[i] = (uint8_t)core->busRead8(core, address + (uint32_t)i);
    }
}

void pmd_core_bus_write(pmd_core *handle, uint32_t address, int width, uint32_t value) {
    struct mCore *core = pmd_core_mcore(handle);
    switch (width) {
    case 1:
        core->busWrite8(core, address, (uint8_t)value);
        break;
    case 2:
        core->busWrite16(core, address, (uint16_t)value);
        break;
    case 4:
        core->busWrite32(core, address, value);
        break;
    default:
        break;
    }
}

void pmd_core_raw_write(pmd_core *handle, uint32_t address, int width, uint32_t value) {
    struct mCore *core = pmd_core_mcore(handle);
    /* Segment -1: the GBA has no banked memory in these domains. */
    switch (width) {
    case 1:
        core->rawWrite8(core, address, -1, (uint8_t)value);
        break;
    case 2:
        core->rawWrite16(core, address, -1, (uint16_t)value);
        break;
    case 4:
        core->rawWrite32(core, address, -1, value);
        break;
    default:
        break;
    }
}
