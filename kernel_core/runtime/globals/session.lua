-- The Session and Artifact globals: argument checks, the session builder, and binary
-- content handed to Python as hex (lupa can only pass UTF-8 strings as text).
-- Host calls are tail calls, so their errors point at the script's line.
local host, api = ...
local check, check_self, format, type = api.check, api.check_self, string.format, type
local setmetatable, utf8len, gsub = setmetatable, utf8.len, string.gsub

local Session, Artifact = {}, {}

-- sessions --------------------------------------------------------------------------------

local function session_id(fname, id)
  return check(fname, 1, id, "string")
end

function Session.create(opts)
  return host.create("Session.create", check("Session.create", 1, opts, "table", true))
end

local builder_methods = api.class("SessionBuilder", {})
local builder_mt = { __index = builder_methods, __name = "SessionBuilder" }

function Session.builder()
  return setmetatable({ opts = { tags = api.array() } }, builder_mt)
end

local function setter(field)
  local fname = "SessionBuilder:" .. field
  builder_methods[field] = function(self, value)
    check_self(fname, self, builder_mt)
    self.opts[field] = check(fname, 1, value, "string")
    return self
  end
end
setter("name")
setter("description")
setter("parent_session_id")

function builder_methods.tag(self, tag)
  check_self("SessionBuilder:tag", self, builder_mt)
  local tags = self.opts.tags
  tags[#tags + 1] = check("SessionBuilder:tag", 1, tag, "string")
  return self
end

function builder_methods.tags(self, list)
  check_self("SessionBuilder:tags", self, builder_mt)
  check("SessionBuilder:tags", 1, list, "table")
  local tags = self.opts.tags
  for i, tag in ipairs(list) do
    if type(tag) ~= "string" then
      error(format("bad argument #1 to 'SessionBuilder:tags' (tag %d is a %s, not a string)",
        i, type(tag)), 2)
    end
    tags[#tags + 1] = tag
  end
  return self
end

function builder_methods.metadata(self, custom)
  check_self("SessionBuilder:metadata", self, builder_mt)
  self.opts.metadata = check("SessionBuilder:metadata", 1, custom, "table")
  return self
end

function builder_methods.build(self)
  check_self("SessionBuilder:build", self, builder_mt)
  return host.create("SessionBuilder:build", self.opts)
end

function Session.get(id) return host.get("Session.get", session_id("Session.get", id)) end

function Session.list(query)
  return host.list("Session.list", check("Session.list", 1, query, "table", true))
end

-- extra arguments (a summary, options) are accepted and ignored, as in LLMSpell
function Session.save(id) return host.save("Session.save", session_id("Session.save", id)) end
function Session.load(id) return host.load("Session.load", session_id("Session.load", id)) end

function Session.complete(id)
  return host.set_status("Session.complete", session_id("Session.complete", id), "completed")
end

function Session.suspend(id)
  return host.set_status("Session.suspend", session_id("Session.suspend", id), "suspended")
end

function Session.resume(id)
  return host.set_status("Session.resume", session_id("Session.resume", id), "active")
end

function Session.delete(id)
  return host.delete("Session.delete", session_id("Session.delete", id))
end

function Session.get_current() return host.get_current() end

function Session.set_current(id)
  return host.set_current("Session.set_current", check("Session.set_current", 1, id, "string",
    true))
end

function Session.can_replay(id)
  return host.can_replay("Session.can_replay", session_id("Session.can_replay", id))
end

function Session.list_replayable() return host.list_replayable() end

function Session.replay(id)
  return host.replay_unsupported("Session.replay", session_id("Session.replay", id))
end

function Session.get_replay_metadata(id)
  return host.replay_unsupported("Session.get_replay_metadata",
    session_id("Session.get_replay_metadata", id))
end

-- artifacts -------------------------------------------------------------------------------

local HEX = {}
for byte = 0, 255 do HEX[string.char(byte)] = format("%02x", byte) end

local function optional_session(fname, id)
  return check(fname, 1, id, "string", true) or ""
end

local function id_table(fname, i, id)
  return check(fname, i, id, "table")
end

function Artifact.store(sid, artifact_type, name, content, metadata)
  local fname = "Artifact.store"
  sid = optional_session(fname, sid)
  artifact_type = check(fname, 2, artifact_type, "string")
  name = check(fname, 3, name, "string")
  content = check(fname, 4, content, "string")
  metadata = check(fname, 5, metadata, "table", true)
  if utf8len(content) then
    return host.store(fname, sid, artifact_type, name, content, false, metadata)
  end
  return host.store(fname, sid, artifact_type, name, (gsub(content, ".", HEX)), true, metadata)
end

function Artifact.store_file(sid, path, artifact_type, metadata)
  local fname = "Artifact.store_file"
  sid = optional_session(fname, sid)
  path = check(fname, 2, path, "string")
  artifact_type = check(fname, 3, artifact_type, "string")
  return host.store_file(fname, sid, path, artifact_type, check(fname, 4, metadata, "table", true))
end

function Artifact.get(sid, id)
  return host.get_artifact("Artifact.get", optional_session("Artifact.get", sid),
    id_table("Artifact.get", 2, id))
end

function Artifact.list(sid)
  return host.list_artifacts("Artifact.list", optional_session("Artifact.list", sid))
end

function Artifact.query(query)
  return host.query("Artifact.query", check("Artifact.query", 1, query, "table", true))
end

function Artifact.delete(sid, id)
  return host.delete_artifact("Artifact.delete", optional_session("Artifact.delete", sid),
    id_table("Artifact.delete", 2, id))
end

return Session, Artifact
