-- A function compiled inside a one-line prelude made a main chunk again, with the code's
-- own line numbers:
--
--   local a, b; return function(...)    <- line 1, the prelude
--   <the code, from line 2>
--   end
--
-- string.dump, every line number moved up by one, linedefined 0, loaded as binary: so
-- tracebacks, the debugger and the profiler see "main chunk" and the code's own lines, as
-- for a script. The prelude's names are upvalues of the result (fresh, nil: the caller
-- sets them). Used for a kernel cell's REPL locals (kernel/repl.lua) and for the debugger's
-- compiled checks (debugger/debugger.lua). Loaded with the real `load` (the restricted
-- sandbox's refuses binary chunks).
local real_load = ...
local dump, byte, sub, char, concat = string.dump, string.byte, string.sub, string.char, table.concat


-- Lua 5.4's binary chunk format (ldump.c): a fixed header, the main closure's upvalue
-- count, then the function prototypes, sizes as MSB-first 7-bit groups ending in 0x80.
local HEADER = 31 -- signature 4, version, format, LUAC_DATA 6, 3 sizes, LUAC_INT 8, LUAC_NUM 8
local K_INT, K_FLT, K_SHORT, K_LONG = 0x03, 0x13, 0x04, 0x14

local function shift_lines(s)
  local out, pos = {}, 1
  local function copy(n)
    if n > 0 then out[#out + 1] = sub(s, pos, pos + n - 1) end
    pos = pos + n
  end
  local function size()
    local x, b = 0, 0
    repeat
      b = byte(s, pos)
      pos = pos + 1
      x = (x << 7) | (b & 0x7f)
    until b >= 0x80
    return x
  end
  local function put(x)
    local bytes = { (x & 0x7f) | 0x80 }
    x = x >> 7
    while x ~= 0 do
      table.insert(bytes, 1, x & 0x7f)
      x = x >> 7
    end
    out[#out + 1] = char(table.unpack(bytes))
  end
  local function str()
    local n = size()
    put(n)
    copy(n > 0 and n - 1 or 0)
  end
  local function proto(main)
    str() -- source
    local first, last = size(), size()
    if main then put(0); put(0) else put(first - 1); put(last - 1) end
    copy(3) -- numparams, is_vararg, maxstacksize
    local n = size(); put(n); copy(4 * n) -- code
    n = size(); put(n) -- constants
    for _ = 1, n do
      local tag = byte(s, pos)
      copy(1)
      if tag == K_INT or tag == K_FLT then copy(8)
      elseif tag == K_SHORT or tag == K_LONG then str() end
    end
    n = size(); put(n); copy(3 * n) -- upvalue descriptors
    n = size(); put(n) -- nested functions
    for _ = 1, n do proto(false) end
    n = size(); put(n); copy(n) -- relative line info (relative to linedefined)
    n = size(); put(n) -- absolute line info: pc, line
    for _ = 1, n do put(size()); put(size() - 1) end
    n = size(); put(n) -- local names: name, startpc, endpc
    for _ = 1, n do str(); put(size()); put(size()) end
    n = size(); put(n) -- upvalue names
    for _ = 1, n do str() end
  end
  copy(HEADER + 1)
  proto(true)
  copy(#s - pos + 1) -- nothing should be left; keep it if so, load will say
  return concat(out)
end

--- `inner`, compiled in the prelude, as a main chunk (nil, message if that fails).
return function(inner)
  return real_load(shift_lines(dump(inner)), nil, "b")
end
