-- The State global: argument checks and the reference's many names for one store.
-- Every call ends in a tail call to a host function, so an error raised there (bad value,
-- busy database) points at the script's line, as do the argument checks here.
local host, api = ...
local check, format, type, select = api.check, string.format, type, select
local utf8len = utf8.len

local GLOBAL = "global"
local State = {}

-- A string handed to Python must be UTF-8 (lupa decodes it); say so at the caller's line.
local function text_value(fname, key, value)
  if type(value) == "string" and not utf8len(value) then
    error(format("%s: cannot store '%s': the string is not valid UTF-8 text; State holds "
      .. "JSON, so encode binary data first (for example as hex)", fname, key), 3)
  end
  return value
end

local function scoped_key(fname, id, key)
  return check(fname, 1, id, "string") .. ":" .. check(fname, 2, key, "string")
end

-- global scope ----------------------------------------------------------------------------

function State.get(key)
  return host.get("State.get", GLOBAL, check("State.get", 1, key, "string"))
end

function State.set(key, value)
  key = check("State.set", 1, key, "string")
  return host.set("State.set", GLOBAL, key, text_value("State.set", key, value))
end

--- State.delete(key) removes a global key; State.delete(scope, key) a scoped one (the
--- reference's form). A second argument that is nil counts as absent.
function State.delete(a, b)
  if b ~= nil then
    local scope = check("State.delete", 1, a, "string")
    return host.delete("State.delete", scope, check("State.delete", 2, b, "string"))
  end
  return host.delete("State.delete", GLOBAL, check("State.delete", 1, a, "string"))
end

function State.exists(key)
  return host.exists("State.exists", GLOBAL, check("State.exists", 1, key, "string"))
end

function State.list()
  return host.keys("State.list", GLOBAL)
end

function State.clear()
  return host.clear("State.clear", GLOBAL)
end

function State.increment(key, amount)
  key = check("State.increment", 1, key, "string")
  return host.increment("State.increment", GLOBAL, key,
    check("State.increment", 2, amount, "number", true) or 1)
end

function State.append(key, value)
  key = check("State.append", 1, key, "string")
  if value == nil then
    error("bad argument #2 to 'State.append' (value expected, got no value)", 2)
  end
  return host.append("State.append", GLOBAL, key, text_value("State.append", key, value))
end

function State.compare_and_swap(key, old, new)
  key = check("State.compare_and_swap", 1, key, "string")
  return host.compare_and_swap("State.compare_and_swap", GLOBAL, key,
    text_value("State.compare_and_swap", key, old), text_value("State.compare_and_swap", key, new))
end

-- explicit scopes -------------------------------------------------------------------------

function State.get_scoped(scope, key)
  return host.get("State.get_scoped", check("State.get_scoped", 1, scope, "string"),
    check("State.get_scoped", 2, key, "string"))
end

function State.set_scoped(scope, key, value)
  scope = check("State.set_scoped", 1, scope, "string")
  key = check("State.set_scoped", 2, key, "string")
  return host.set("State.set_scoped", scope, key, text_value("State.set_scoped", key, value))
end

function State.delete_scoped(scope, key)
  return host.delete("State.delete_scoped", check("State.delete_scoped", 1, scope, "string"),
    check("State.delete_scoped", 2, key, "string"))
end

function State.clear_scope(scope)
  return host.clear("State.clear_scope", check("State.clear_scope", 1, scope, "string"))
end

function State.list_scoped(scope)
  return host.keys("State.list_scoped", check("State.list_scoped", 1, scope, "string"))
end

-- the reference's names -------------------------------------------------------------------

function State.save(scope, key, value)
  scope = check("State.save", 1, scope, "string")
  key = check("State.save", 2, key, "string")
  return host.set("State.save", scope, key, text_value("State.save", key, value))
end

function State.load(scope, key)
  return host.get("State.load", check("State.load", 1, scope, "string"),
    check("State.load", 2, key, "string"))
end

function State.list_keys(scope)
  return host.keys("State.list_keys", check("State.list_keys", 1, scope, "string"))
end

-- "workflow:<id>:<step>", "agent:<id>:<key>", "tool:<id>:<key>": scope "workflow" (etc.) and
-- key "<id>:<step>", so State.load("workflow", id .. ":" .. step) reads the same value.

function State.workflow_get(workflow_id, step)
  return host.get("State.workflow_get", "workflow",
    scoped_key("State.workflow_get", workflow_id, step))
end

function State.workflow_list(workflow_id)
  return host.keys_with_prefix("State.workflow_list", "workflow",
    check("State.workflow_list", 1, workflow_id, "string") .. ":")
end

function State.agent_get(agent_id, key)
  return host.get("State.agent_get", "agent", scoped_key("State.agent_get", agent_id, key))
end

function State.agent_set(agent_id, key, value)
  local full = scoped_key("State.agent_set", agent_id, key)
  return host.set("State.agent_set", "agent", full, text_value("State.agent_set", full, value))
end

function State.tool_get(tool_id, key)
  return host.get("State.tool_get", "tool", scoped_key("State.tool_get", tool_id, key))
end

function State.tool_set(tool_id, key, value)
  local full = scoped_key("State.tool_set", tool_id, key)
  return host.set("State.tool_set", "tool", full, text_value("State.tool_set", full, value))
end

-- schema and backups: {success = true, ...} or {success = false, error = "..."} -----------

function State.migrate(version)
  return host.migrate(check("State.migrate", 1, version, "number", true))
end

function State.get_migration_status()
  return host.migration_status()
end

function State.get_schema_versions()
  return host.schema_versions()
end

function State.create_backup()
  return host.create_backup()
end

function State.list_backups()
  return host.list_backups()
end

function State.restore_backup(backup_id)
  return host.restore_backup(check("State.restore_backup", 1, backup_id, "string"))
end

function State.validate_backup(backup_id)
  return host.validate_backup(check("State.validate_backup", 1, backup_id, "string"))
end

function State.cleanup_backups(keep)
  keep = check("State.cleanup_backups", 1, keep, "number", true)
  if keep ~= nil and (keep < 0 or keep ~= keep // 1) then
    error(format("bad argument #1 to 'State.cleanup_backups' (number of backups to keep "
      .. "must be a whole number, 0 or more, got %s)", keep), 2)
  end
  return host.cleanup_backups(keep)
end

function State.get_storage_usage()
  return host.storage_usage()
end

return State
