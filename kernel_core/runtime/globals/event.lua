-- The Lua side of the Event global: argument checks and the sliced wait of Event.receive
-- (it returns to Lua at least every 50 ms, so an interrupt stops a waiting script).
-- Loaded with (api, host); host functions return ok, value | false, message (event.py).
local api, host = ...

local type, format, error = type, string.format, error
local check = api.check
local poll, now_ms = host.poll, host.now_ms

local Event = {}

function Event.publish(event_type, data, opts)
  event_type = check("Event.publish", 1, event_type, "string")
  check("Event.publish", 3, opts, "table", true)
  local ok, r = host.publish(event_type, data, opts)
  if not ok then error(r, 2) end
  return r
end

function Event.subscribe(pattern, opts)
  pattern = check("Event.subscribe", 1, pattern, "string")
  check("Event.subscribe", 2, opts, "table", true)
  local ok, r = host.subscribe(pattern, "lua")
  if not ok then error(r, 2) end
  return r
end

function Event.receive(sub_id, timeout_ms)
  sub_id = check("Event.receive", 1, sub_id, "string")
  check("Event.receive", 2, timeout_ms, "number", true)
  if not host.exists(sub_id) then
    error(format("Event.receive: unknown subscription '%s' (use the id Event.subscribe "
      .. "returned)", sub_id), 2)
  end
  local deadline = now_ms() + (timeout_ms or host.default_timeout)
  repeat
    local ok, event = poll(sub_id, deadline - now_ms())
    if not ok then error(event, 2) end
    if event ~= nil then return event end
  until now_ms() >= deadline
  return nil
end

function Event.unsubscribe(sub_id)
  if type(sub_id) ~= "string" then return false end
  return host.unsubscribe(sub_id)
end

function Event.list_subscriptions() return host.list() end
function Event.get_stats() return host.stats() end

return Event
