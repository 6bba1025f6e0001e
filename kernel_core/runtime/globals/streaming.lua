-- The Streaming global: a generator object over a coroutine (lua-globals.md §14).
-- Loaded with (api, create) where create is the hooked coroutine.create, so a stream's
-- coroutine is interruptible and debuggable like any other.
local api, create = ...

local resume, status, running, yield = coroutine.resume, coroutine.status, coroutine.running,
  coroutine.yield
local setmetatable, error, type, select = setmetatable, error, type, select

local streams = setmetatable({}, { __mode = "k" }) -- coroutine -> true, for Streaming.yield

local Stream = {}
local stream_mt = { __index = Stream, __name = "Stream" }
stream_mt.__tostring = function(self)
  return "Stream(" .. (self._done and "done" or "running") .. ")"
end
api.class("Stream", Stream)

local Streaming = {}

function Streaming.create(fn)
  api.check("Streaming.create", 1, fn, "function")
  local co = create(fn)
  streams[co] = true
  return setmetatable({ _co = co, _done = false }, stream_mt)
end

--- Inside a Streaming.create function: yield v to the consumer. Elsewhere: a no-op, as in
--- LLMSpell (where it never yields).
function Streaming.yield(...)
  local co, main = running()
  if not main and streams[co] then return yield(...) end
end

local function finish(self, ok, ...)
  if not ok then
    self._done = true
    error((...), 0)
  end
  if status(self._co) == "dead" then self._done = true end
  return (...)
end

function Stream.next(self)
  api.check_self("Stream:next", self, stream_mt)
  if self._done then return nil end
  return finish(self, resume(self._co))
end

function Stream.isDone(self)
  api.check_self("Stream:isDone", self, stream_mt)
  return self._done
end

function Stream.collect(self)
  api.check_self("Stream:collect", self, stream_mt)
  local out = api.array()
  while not self._done do
    local v = finish(self, resume(self._co))
    if v ~= nil then out[#out + 1] = v end
  end
  return out
end

--- for v in stream:iter() do ... end (stops at the first nil)
function Stream.iter(self)
  api.check_self("Stream:iter", self, stream_mt)
  return function() return Stream.next(self) end
end

return Streaming
