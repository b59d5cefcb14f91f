// Runs an Argo CD health-check script in a real Lua VM (fengari) with the libraries Argo CD opens by
// default (base and table; no string library), on a fixture object converted to a Lua table.
import fengari from 'fengari';

const { lua, lauxlib, lualib, to_luastring } = fengari;

export interface HealthResult {
  readonly status: string;
  readonly message: string;
}

function luaString(text: string): string {
  return JSON.stringify(text).replace(/\\u([0-9a-fA-F]{4})/g, (_match, hex: string) => `\\u{${hex}}`);
}

/** A JSON value as a Lua table constructor, arrays 1-based like Argo CD's own conversion. */
export function toLuaLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return luaString(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLuaLiteral).join(', ')}}`;
  if (typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>).map(
      ([key, field]) => `[${luaString(key)}] = ${toLuaLiteral(field)}`,
    );
    return `{${fields.join(', ')}}`;
  }
  throw new Error(`cannot convert ${typeof value} to Lua`);
}

export function runHealthCheck(script: string, obj: unknown): HealthResult {
  const L = lauxlib.luaL_newstate();
  lauxlib.luaL_requiref(L, to_luastring('_G'), lualib.luaopen_base, 1);
  lauxlib.luaL_requiref(L, to_luastring('table'), lualib.luaopen_table, 1);
  lua.lua_settop(L, 0);
  const chunk = `obj = ${toLuaLiteral(obj)}
local function check()
${script}
end
local result = check()
return result.status, result.message`;
  if (lauxlib.luaL_loadstring(L, to_luastring(chunk)) !== lua.LUA_OK) {
    throw new Error(`Lua syntax error: ${lua.lua_tojsstring(L, -1)}`);
  }
  if (lua.lua_pcall(L, 0, 2, 0) !== lua.LUA_OK) {
    throw new Error(`Lua runtime error: ${lua.lua_tojsstring(L, -1)}`);
  }
  return { status: lua.lua_tojsstring(L, -2), message: lua.lua_tojsstring(L, -1) };
}
