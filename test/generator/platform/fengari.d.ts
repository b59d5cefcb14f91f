// The parts of fengari (a Lua 5.3 VM in JavaScript, no bundled types) the health-check tests use.
declare module 'fengari' {
  type LuaState = object;
  const fengari: {
    lua: {
      LUA_OK: number;
      lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
      lua_tojsstring(L: LuaState, index: number): string;
      lua_type(L: LuaState, index: number): number;
      lua_settop(L: LuaState, index: number): void;
      lua_pop(L: LuaState, n: number): void;
    };
    lauxlib: {
      luaL_newstate(): LuaState;
      luaL_loadstring(L: LuaState, source: Uint8Array): number;
      luaL_requiref(L: LuaState, name: Uint8Array, open: (L: LuaState) => number, global: number): void;
    };
    lualib: {
      luaopen_base(L: LuaState): number;
      luaopen_table(L: LuaState): number;
    };
    to_luastring(text: string): Uint8Array;
  };
  export default fengari;
}
