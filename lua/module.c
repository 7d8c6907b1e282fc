#include "lua.h"
int luaopen_vclaunch_core(lua_State *L);
int luaopen_vclaunch_core(lua_State *L) { (void)L; return 0; }
