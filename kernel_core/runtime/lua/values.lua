-- values.lua: render any Lua value as Lua shows it. Used by Debug.dump and the debugger.
--
--   local values = runtime.load_lua("kernel_core.runtime.lua", "values.lua")
--   values.render(v, opts) -> string
--   values.summary(v)      -> short one-line string (for variable lists, hook panes)
--   values.defaults        -> the default options (read-only by convention)
--
-- What it shows:
--   * strings quoted with escapes ("a\nb", "\"q\"", "\0", "\xff" for bytes that are not
--     printable ASCII or part of valid UTF-8); integers as 1, floats as 1.0, 1e+100, inf,
--     -inf, nan (as Lua 5.4's tostring does); nil, true, false.
--   * tables as constructors: array part (1..n) first, then the other keys sorted (numbers,
--     then strings, then booleans, then the rest by tostring); identifier keys bare, others
--     as [key]. A table reached again while rendering itself shows as <cycle: table: 0x...>;
--     past max_depth a table shows as {...} with its size.
--   * functions as `function: builtin` (C) or `function <file:line>` (Lua).
--   * a table or userdata whose metatable has __tostring shows as its tostring (when
--     opts.use_tostring, the default); other userdata and threads as tostring shows them.
--
-- Options (all optional):
--   compact            one line (`{ 1, 2, a = 3 }`) instead of one entry per line
--   indent             spaces per nesting level in multi-line mode (default 2)
--   max_depth          tables nested deeper show as {...} (default 8)
--   max_string_length  longer strings are cut and end in `...` (default 0 = no limit)
--   max_array_elements array entries shown before `... (N more)` (default 0 = all)
--   max_table_pairs    other keys shown before `... (N more)` (default 0 = all)
--   show_types         prefix values with their type: `<number> 1` (default false)
--   show_addresses     prefix tables with their address: `table: 0x... {` (default false)
--   use_tostring       honour __tostring metamethods (default true)
local type, tostring, pairs, rawget, rawlen, getmetatable, pcall = type, tostring, pairs,
  rawget, rawlen, getmetatable, pcall
local format, concat, sort, math_type, byte = string.format, table.concat, table.sort,
  math.type, string.byte
local next, tonumber = next, tonumber
local getinfo = debug.getinfo

local V = {}

V.defaults = {
  compact = false, indent = 2, max_depth = 8, max_string_length = 0,
  max_array_elements = 0, max_table_pairs = 0, show_types = false, show_addresses = false,
  use_tostring = true,
}

local ESCAPES = {
  ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n", ["\r"] = "\\r",
  ["\t"] = "\\t", ["\v"] = "\\v", ["\\"] = "\\\\", ['"'] = '\\"',
}

local function escape_bytes(s)
  -- keep valid UTF-8 sequences and printable ASCII; escape everything else
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = byte(s, i)
    local ch = s:sub(i, i)
    if ESCAPES[ch] then
      out[#out + 1] = ESCAPES[ch]
      i = i + 1
    elseif c >= 32 and c < 127 then
      out[#out + 1] = ch
      i = i + 1
    elseif c >= 0xC2 and c <= 0xF4 then
      local len = c >= 0xF0 and 4 or c >= 0xE0 and 3 or 2
      local seq = s:sub(i, i + len - 1)
      if #seq == len and utf8.len(seq) == 1 then
        out[#out + 1] = seq
        i = i + len
      else
        out[#out + 1] = format("\\x%02x", c)
        i = i + 1
      end
    else
      out[#out + 1] = c < 32 and format("\\%d", c) or format("\\x%02x", c)
      i = i + 1
    end
  end
  return concat(out)
end

local function render_string(s, opts)
  local limit = opts.max_string_length
  if limit and limit > 0 and #s > limit then
    return '"' .. escape_bytes(s:sub(1, limit)) .. '..." (' .. #s .. " bytes)"
  end
  return '"' .. escape_bytes(s) .. '"'
end

local function render_number(n)
  if math_type(n) == "integer" then return format("%d", n) end
  if n ~= n then return "nan" end
  if n == math.huge then return "inf" end
  if n == -math.huge then return "-inf" end
  return tostring(n) -- Lua 5.4 keeps ".0" on integral floats
end

local function render_function(f)
  local info = getinfo(f, "S")
  -- llmspell's own Lua (print, the globals) is as built in as C to a script author
  if info == nil or info.what == "C" or info.source:sub(1, 11) == "=[llmspell]" then
    return "function: builtin"
  end
  if info.what == "main" then return "function <" .. info.short_src .. ">" end
  return "function <" .. info.short_src .. ":" .. info.linedefined .. ">"
end

local function custom_tostring(v, opts)
  if not opts.use_tostring then return nil end
  local mt = getmetatable(v)
  if type(mt) ~= "table" or rawget(mt, "__tostring") == nil then return nil end
  local ok, text = pcall(tostring, v)
  if ok and type(text) == "string" then return text end
  return nil
end

local KEY_ORDER = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (KEY_ORDER[ta] or 4) < (KEY_ORDER[tb] or 4) end
  if ta == "number" or ta == "string" then return a < b end
  if ta == "boolean" then return (not a) and b end
  return tostring(a) < tostring(b)
end

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
    and not V.keywords[k]
end

V.keywords = {}
for word in ("and break do else elseif end false for function goto if in local nil not or "
  .. "repeat return then true until while"):gmatch("%a+") do
  V.keywords[word] = true
end

local render -- forward

local function render_key(k, opts, seen, depth)
  if is_identifier(k) then return k end
  return "[" .. render(k, opts, seen, depth) .. "]"
end

local function table_size(t)
  local n = 0
  for _ in next, t do n = n + 1 end
  return n
end

local function render_table(t, opts, seen, depth)
  local text = custom_tostring(t, opts)
  if text then return text end
  local address = opts.show_addresses and (tostring(t):match("0x%x+") or tostring(t)) or nil
  local prefix = address and ("table: " .. address .. " ") or ""
  if seen[t] then return "<cycle: " .. tostring(t) .. ">" end
  if next(t) == nil then return prefix .. "{}" end
  if depth >= opts.max_depth then
    if opts.brief then return prefix .. "{...}" end
    local size = table_size(t)
    return prefix .. "{...} (" .. size .. (size == 1 and " entry)" or " entries)")
  end
  seen[t] = true
  local items = {}
  local n = rawlen(t)
  local array_limit = opts.max_array_elements
  local shown_array = n
  if array_limit and array_limit > 0 and n > array_limit then shown_array = array_limit end
  for i = 1, shown_array do
    items[#items + 1] = render(rawget(t, i), opts, seen, depth + 1)
  end
  if shown_array < n then
    items[#items + 1] = "... (" .. (n - shown_array) .. " more)"
  end
  local keys = {}
  for k in next, t do
    if not (math_type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  sort(keys, key_less)
  local pair_limit = opts.max_table_pairs
  local shown_pairs = #keys
  if pair_limit and pair_limit > 0 and shown_pairs > pair_limit then shown_pairs = pair_limit end
  for i = 1, shown_pairs do
    local k = keys[i]
    items[#items + 1] = render_key(k, opts, seen, depth + 1) .. " = "
      .. render(rawget(t, k), opts, seen, depth + 1)
  end
  if shown_pairs < #keys then
    items[#items + 1] = "... (" .. (#keys - shown_pairs) .. " more)"
  end
  seen[t] = nil
  if opts.compact then
    return prefix .. "{ " .. concat(items, ", ") .. " }"
  end
  local pad = (" "):rep(opts.indent * (depth + 1))
  local close = (" "):rep(opts.indent * depth)
  return prefix .. "{\n" .. pad .. concat(items, ",\n" .. pad) .. "\n" .. close .. "}"
end

render = function(v, opts, seen, depth)
  local t = type(v)
  local text
  if t == "string" then text = render_string(v, opts)
  elseif t == "number" then text = render_number(v)
  elseif t == "nil" or t == "boolean" then text = tostring(v)
  elseif t == "table" then text = render_table(v, opts, seen, depth)
  elseif t == "function" then text = render_function(v)
  else text = custom_tostring(v, opts) or tostring(v) end
  if opts.show_types then return "<" .. t .. "> " .. text end
  return text
end

local function merged(opts)
  if opts == nil then return V.defaults end
  local out = {}
  for k, d in pairs(V.defaults) do
    local given = rawget(opts, k)
    if given == nil then out[k] = d
    elseif type(d) == "number" then out[k] = math.tointeger(given) or tonumber(given) or d
    else out[k] = given and true or false end
  end
  return out
end

--- The text of any Lua value; see the options at the top of this file.
function V.render(v, opts)
  return render(v, merged(opts), {}, 0)
end

local SUMMARY = {
  compact = true, indent = 0, max_depth = 1, max_string_length = 40,
  max_array_elements = 5, max_table_pairs = 5, show_types = false, show_addresses = false,
  use_tostring = true, brief = true,
}
local SUMMARY_WIDTH = 80

--- A short one-line form: tables one level deep, long strings cut, at most 80 characters.
function V.summary(v)
  local text = render(v, SUMMARY, {}, 0)
  if #text > SUMMARY_WIDTH then
    text = text:sub(1, SUMMARY_WIDTH - 4)
    -- do not cut a UTF-8 sequence in half
    while #text > 0 and not utf8.len(text) do text = text:sub(1, -2) end
    text = text .. " ..." .. (type(v) == "table" and "}" or "")
  end
  return text
end

V.is_identifier = is_identifier
return V
