-- Running workflows: sequences of stages, parallel branches as cooperatively scheduled
-- coroutines, conditions, loops, error strategies, hook points and the result table.
-- Loaded by workflow.py with (api, mux, host, template, steps); returns the module table.
local api, mux, host, template, steps = ...

local type, tostring, pairs, ipairs, pcall, error, format = type, tostring, pairs, ipairs,
  pcall, error, string.format
local setmetatable, getmetatable = setmetatable, getmetatable
local co_running, co_yield, co_resume, co_status = coroutine.running, coroutine.yield,
  coroutine.resume, coroutine.status
local G = _G

local E = {}
E.debug = false

-- ---------------------------------------------------------------- cooperative scheduling

-- A branch yields WAIT, wake_at to sleep without blocking its siblings; any other yield
-- (after each stage, or coroutine.yield() in a function step) just gives others a turn.
local WAIT = setmetatable({}, { __name = "llmspell.workflow.wait" })
local scheduled = setmetatable({}, { __mode = "k" })

local function now() return host.now_ms() end

--- Let other parallel branches run (does nothing outside a parallel branch).
function E.yield_point()
  if scheduled[co_running()] then co_yield() end
end

--- Wait `ms` milliseconds: inside a parallel branch other branches run meanwhile.
function E.wait(ms)
  if not ms or ms <= 0 then return E.yield_point() end
  if scheduled[co_running()] then
    co_yield(WAIT, now() + ms)
  else
    host.sleep_ms(ms)
  end
end

-- ---------------------------------------------------------------- helpers

local function describe(err)
  if type(err) == "string" then return err end
  if type(err) == "table" and type(err.message) == "string" then return err.message end
  return tostring(err)
end

local function rethrow_abort(err)
  if mux.is_abort(err) then error(err, 0) end
end

-- A copy of a value that can be handed to hooks (and so to Python): functions, userdata,
-- threads and cycles become descriptive strings.
local function plain(v, seen)
  local t = type(v)
  if t == "table" then
    if steps.is_instance(v) then return format("<workflow '%s'>", v.name) end
    seen = seen or {}
    if seen[v] then return "<cycle>" end
    seen[v] = true
    local copy = {}
    for k, x in pairs(v) do
      if type(k) == "string" or type(k) == "number" then copy[k] = plain(x, seen) end
    end
    seen[v] = nil
    if getmetatable(v) == api.array_mt then api.array(copy) end
    return copy
  elseif t == "function" or t == "userdata" or t == "thread" then
    return "<" .. t .. ">"
  end
  return v
end
E.plain = plain

local CONTINUE = { action = "continue" }

local function fire(run, point, data)
  data.workflow_id, data.workflow_name = run.wf.id, run.wf.name
  data.workflow_type, data.execution_id = run.def.type, run.exec_id
  local decision = api.fire_hook(point, "workflow", run.wf.name, data)
  if type(decision) ~= "table" or decision.action == nil then return CONTINUE end
  if decision.action == "skipped" then decision.action = "skip" end
  return decision
end

local function trace(run, fmt, ...)
  if E.debug then
    G.io.stderr:write(format("[workflow %s] " .. fmt .. "\n", run.wf.name, ...))
  end
end

local function stop(run, kind, message)
  if run.stop == nil then
    run.stop, run.error = kind, message
  end
end

local function timed_out(run)
  if run.deadline and now() > run.deadline then
    stop(run, "failed", format("Workflow '%s' timed out after %.0f ms (timeout_ms = %.0f)",
      run.wf.name, now() - run.started, run.def.timeout_ms))
    run.workflow_failure = true
    return true
  end
  return run.stop ~= nil
end

local function new_context(run)
  local ctx = {
    input = run.input, outputs = run.outputs, shared = run.shared, workflow = run.wf,
    workflow_name = run.wf.name, workflow_type = run.def.type, execution_id = run.exec_id,
  }
  function ctx.set_shared(_, key, value) run.shared[key] = value end
  function ctx.get_shared(_, key) return run.shared[key] end
  function ctx.get_output(_, name) return run.outputs[name] end
  function ctx.break_loop() run.break_loop = true end
  function ctx.yield() E.yield_point() end
  -- reads fall back to the input's keys (`ctx.input_type` for input.input_type)
  return setmetatable(ctx, { __index = function(_, key)
    local input = run.input
    if type(input) == "table" then return input[key] end
  end })
end

-- What one stage sees: its own fields over the run's shared context (writes go there).
local function view(run, fields)
  return setmetatable(fields, { __index = run.ctx, __newindex = run.ctx })
end

local function scope_for(run, previous, info)
  return {
    input = run.input, records = run.by_name, shared = run.shared, workflow = run.info,
    previous = previous, has_previous = true, loop = info.loop,
  }
end

-- ---------------------------------------------------------------- one stage

local function finish(run, record)
  run.records[#run.records + 1] = record
  run.by_name[record.name] = record
  if record.success then
    if record.skipped then run.skipped = run.skipped + 1 else run.succeeded = run.succeeded + 1 end
    if record.output ~= nil then run.outputs[record.name] = record.output end
    if record.agent_name and not record.skipped then
      run.agent_outputs[record.agent_name] = template.text_of(record.output)
    end
  elseif record.status ~= "cancelled" then
    run.failed = run.failed + 1
  end
  trace(run, "step '%s' %s in %.1f ms", record.name, record.status, record.duration_ms or 0)
  return record
end

-- Run a step, retrying as the step and the error strategy say; returns ok, output, extra,
-- attempts.
local function attempt(run, step, input, stage_view, scope)
  local strategy = run.def.strategy
  local tries = 1 + (step.retry_count or strategy.retries)
  local delay = step.retry_delay_ms or strategy.backoff_ms
  local message
  for n = 1, tries do
    local started = now()
    local ok, output, extra = pcall(function()
      local out, more = steps.run(step, input, stage_view, scope, run.env)
      if step.update then step.update(stage_view, out) end
      return out, more
    end)
    if not ok then rethrow_abort(output) end
    if ok and step.timeout_ms and now() - started > step.timeout_ms then
      ok, output = false, format("timed out: took %.0f ms, timeout_ms = %.0f", now() - started,
        step.timeout_ms)
    end
    if ok then return true, output, extra, n end
    message = describe(output)
    if n < tries then
      trace(run, "step '%s' failed (attempt %d of %d): %s", step.name, n, tries, message)
      E.wait(delay)
      if run.stop then return false, message, nil, n end
    end
  end
  return false, message, nil, tries
end

local function succeed(record, output)
  record.success, record.status, record.output, record.error = true, "completed", output, nil
end

local function run_stage(run, step, index, previous, info)
  local fields = { step = step.name, branch = info.branch, previous = previous, last = previous }
  if info.loop then fields.iteration, fields.index, fields.value =
    info.loop.index, info.loop.index, info.loop.value end
  local stage_view = view(run, fields)
  local scope = scope_for(run, previous, info)
  local input
  if step.input ~= nil then
    input = template.render(scope, step.input)
  else
    input = steps.default_input(step, previous)
  end
  local record = { name = step.name, type = step.type, index = index, branch = info.branch,
    iteration = info.loop and info.loop.index, attempts = 0 }
  local function hook_data(extra)
    extra.step_name, extra.step_index, extra.step_type = step.name, index, step.type
    extra.branch, extra.iteration = info.branch, record.iteration
    return extra
  end

  local decision = fire(run, "BeforeWorkflowStage", hook_data({ input = plain(input) }))
  local action = decision.action
  if action == "cancel" then
    record.status, record.success = "cancelled", false
    stop(run, "cancelled", "cancelled by hook before step '" .. step.name .. "'" ..
      (decision.reason and (": " .. decision.reason) or ""))
    return finish(run, record)
  elseif action == "skip" or action == "replace" then
    succeed(record, decision.data)
    record.skipped = action == "skip" or nil
    record.status = action == "skip" and "skipped" or "completed"
    record.duration_ms = 0
    return finish(run, record)
  elseif action == "modified" then
    input = decision.data
  end

  local started = now()
  local hook_retries = 0
  local done = false
  repeat
    local ok, output, extra, attempts = attempt(run, step, input, stage_view, scope)
    record.attempts = record.attempts + attempts
    if ok then
      succeed(record, output)
      if extra then
        record.response, record.workflow_result = extra.response, extra.workflow_result
        record.agent_name = extra.agent_name
      end
    else
      record.success, record.status, record.error, record.output = false, "failed", output, nil
    end
    local retry_allowed = function(d)
      return d.action == "retry" and hook_retries < (d.max_attempts or 3) - 1
    end
    if not record.success and not run.stop then
      decision = fire(run, "WorkflowError", hook_data({ error = record.error,
        input = plain(input) }))
      if retry_allowed(decision) then
        hook_retries = hook_retries + 1
        E.wait(decision.delay_ms or 1000)
        goto again
      elseif decision.action == "skip" then
        succeed(record, decision.data)
        record.status, record.skipped = "skipped", true
      elseif decision.action == "replace" or decision.action == "modified" then
        succeed(record, decision.data)
      elseif decision.action == "cancel" then
        record.status = "cancelled"
        stop(run, "cancelled", "cancelled by hook after step '" .. step.name .. "' failed" ..
          (decision.reason and (": " .. decision.reason) or ""))
      end
    end
    record.duration_ms = now() - started
    decision = fire(run, "AfterWorkflowStage", hook_data({ success = record.success,
      output = plain(record.output), error = record.error, duration_ms = record.duration_ms }))
    if retry_allowed(decision) then
      hook_retries = hook_retries + 1
      E.wait(decision.delay_ms or 1000)
      goto again
    elseif decision.action == "modified" or decision.action == "replace" then
      if not record.success then record.status = "completed" end
      succeed(record, decision.data)
    elseif decision.action == "cancel" then
      stop(run, "cancelled", "cancelled by hook after step '" .. step.name .. "'" ..
        (decision.reason and (": " .. decision.reason) or ""))
    end
    done = true
    ::again::
  until done
  return finish(run, record)
end

-- ---------------------------------------------------------------- sequences

-- Run steps one after another, each getting the previous output; returns the last output
-- and how many steps failed.
local function run_sequence(run, list, input, info)
  local previous, failures = input, 0
  for i, step in ipairs(list) do
    if timed_out(run) then break end
    if i > 1 then
      local decision = fire(run, "WorkflowStageTransition", { from_step = list[i - 1].name,
        to_step = step.name, branch = info.branch })
      if decision.action == "cancel" then
        stop(run, "cancelled", "cancelled by hook before step '" .. step.name .. "'" ..
          (decision.reason and (": " .. decision.reason) or ""))
        break
      end
      if decision.action == "skip" then
        finish(run, { name = step.name, type = step.type, index = i, branch = info.branch,
          success = true, skipped = true, status = "skipped", duration_ms = 0, attempts = 0 })
        goto next_step
      end
    end
    do
      local record = run_stage(run, step, i, previous, info)
      if record.success then
        if not record.skipped or record.output ~= nil then previous = record.output end
      elseif record.status ~= "cancelled" then
        failures = failures + 1
        local message = format("Step '%s' failed: %s", step.name, tostring(record.error))
        if run.def.strategy.kind == "continue" then
          run.error = run.error or message
        else
          stop(run, "failed", message)
        end
      end
    end
    if run.stop or run.break_loop then break end
    E.yield_point()
    ::next_step::
  end
  timed_out(run)
  return previous, failures
end

-- ---------------------------------------------------------------- the four types

local runners = {}

function runners.sequential(run, def, input)
  return run_sequence(run, def.steps, input, {})
end

local merges = {}
function merges.combine(results, branches)
  local out = {}
  for i, r in pairs(results) do
    if r.failures == 0 then out[branches[i].name] = r.output end
  end
  return out
end
function merges.list(results, branches)
  local out = api.array({})
  for i = 1, #branches do
    local r = results[i]
    if r and r.failures == 0 then out[i] = r.output end
  end
  return out
end
function merges.first(results, _, order)
  for _, i in ipairs(order) do
    if results[i].failures == 0 then return results[i].output end
  end
end
function merges.vote(results, _, order)
  local counts, best, best_count = {}, nil, 0
  for _, i in ipairs(order) do
    local r = results[i]
    if r.failures == 0 and r.output ~= nil then
      local key = template.text_of(r.output)
      counts[key] = (counts[key] or 0) + 1
      if counts[key] > best_count then best, best_count = r.output, counts[key] end
    end
  end
  return best
end
E.MERGE_STRATEGIES = { "combine", "list", "first", "vote" }

function runners.parallel(run, def, input)
  local branches = def.branches
  local limit = def.max_concurrency
  if not limit or limit <= 0 then limit = #branches end
  local create = G.coroutine.create -- the hooked one, so the debugger sees each branch
  local results, order, active, next_branch = {}, {}, {}, 1
  while true do
    while #active < limit and next_branch <= #branches and not run.stop do
      local branch = branches[next_branch]
      local co = create(function()
        return run_sequence(run, branch.steps, input, { branch = branch.name })
      end)
      scheduled[co] = true
      active[#active + 1] = { co = co, index = next_branch, wake = 0 }
      next_branch = next_branch + 1
    end
    if #active == 0 then break end
    local t, still, ran, earliest = now(), {}, false, nil
    for _, entry in ipairs(active) do
      if entry.wake <= t or run.stop then
        ran = true
        local ok, a, b = co_resume(entry.co)
        if not ok then
          rethrow_abort(a)
          local message = format("branch '%s' failed: %s", branches[entry.index].name,
            describe(a))
          results[entry.index] = { failures = 1 }
          order[#order + 1] = entry.index
          stop(run, "failed", message)
          run.workflow_failure = true
        elseif co_status(entry.co) == "dead" then
          results[entry.index] = { output = a, failures = b }
          order[#order + 1] = entry.index
        else
          entry.wake = a == WAIT and b or 0
          still[#still + 1] = entry
        end
      else
        still[#still + 1] = entry
      end
      if entry.wake > 0 and (earliest == nil or entry.wake < earliest) then
        earliest = entry.wake
      end
    end
    active = still
    if #active > 0 then
      if not ran and earliest then E.wait(earliest - now()) else E.yield_point() end
    end
  end
  local succeeded = 0
  for _, r in pairs(results) do
    if r.failures == 0 then succeeded = succeeded + 1 end
  end
  run.branch_counts = { total = #branches, executed = #order, succeeded = succeeded,
    failed = #order - succeeded }
  return merges[def.merge or "combine"](results, branches, order)
end

local function test_condition(run, condition, fields, what)
  local ok, result = pcall(condition.test, view(run, fields), run)
  if ok then return result end
  rethrow_abort(result)
  stop(run, "failed", format("%s failed: %s", what, describe(result)))
  run.workflow_failure = true
  return nil
end

function runners.conditional(run, def, input)
  for _, branch in ipairs(def.branches) do
    local hit = true
    if branch.condition then
      hit = test_condition(run, branch.condition, { previous = input, last = input },
        format("condition of branch '%s'", branch.name))
      if hit == nil then return nil end
    end
    if hit then
      run.branch_taken = branch
      return run_sequence(run, branch.steps, input, { branch = branch.name })
    end
  end
  if def.default then
    run.branch_taken = def.default
    return run_sequence(run, def.default.steps, input, { branch = def.default.name })
  end
  return nil
end

function runners.loop(run, def, input)
  local it, max = def.iterator, def.max_iterations
  local outputs, carry, i = api.array({}), input, 0
  run.iterations = 0
  while not run.stop do
    i = i + 1
    if max and i > max then break end
    local value = i
    if it.kind == "range" then
      value = it.start + (i - 1) * it.step
      if (it.step > 0 and value >= it.stop) or (it.step < 0 and value <= it.stop) then break end
    elseif it.kind == "collection" then
      if i > #it.values then break end
      value = it.values[i]
    end
    local loop = { index = i, value = value }
    if it.condition then
      local go = test_condition(run, it.condition, { iteration = i, index = i, value = value,
        previous = carry, last = carry }, "loop condition")
      if not go then break end
    end
    local seq_input = value
    if it.kind == "while" or it.kind == "count" then seq_input = carry end
    carry = run_sequence(run, def.steps, seq_input, { loop = loop })
    outputs[i] = carry
    run.iterations = i
    if run.break_loop then break end
  end
  return outputs
end

-- ---------------------------------------------------------------- results

local TITLES = { sequential = "Sequential", parallel = "Parallel", conditional = "Conditional",
  loop = "Loop" }

local function summary(run, status, duration)
  local def = run.def
  local title = format("%s workflow '%s'", TITLES[def.type], run.wf.name)
  local counts
  if def.type == "parallel" then
    local b = run.branch_counts or { executed = 0, succeeded = 0, failed = 0 }
    counts = format("%d branches executed, %d succeeded, %d failed.", b.executed, b.succeeded,
      b.failed)
  elseif def.type == "conditional" then
    counts = run.branch_taken and format("Branch '%s' executed, %d steps executed.",
      run.branch_taken.name, #run.records) or "No branch matched, 0 steps executed."
  elseif def.type == "loop" then
    counts = format("%d iterations completed, %d steps executed.", run.iterations or 0,
      #run.records)
  else
    counts = format("%d steps executed.", #run.records)
  end
  local timing = format("Duration: %.1fms", duration)
  if status == "completed" then
    return format("%s completed successfully. %s %s", title, counts, timing)
  elseif status == "skipped" then
    return format("%s was skipped by a hook. %s", title, timing)
  elseif status == "cancelled" then
    return format("%s was cancelled: %s. %s %s", title, tostring(run.error), counts, timing)
  end
  return format("%s failed: %s. %s %s", title, tostring(run.error), counts, timing)
end

local function build_result(run, output, forced_status)
  local duration = now() - run.started
  local status = forced_status
  if not status then
    if run.stop == "cancelled" then status = "cancelled"
    elseif run.stop or run.failed > 0 then status = "failed"
    else status = "completed" end
  end
  local total = #run.records
  local extra = {
    workflow_type = run.def.type, workflow_name = run.wf.name, workflow_id = run.wf.id,
    execution_id = run.exec_id, total_steps = total, successful_steps = run.succeeded,
    failed_steps = run.failed, skipped_steps = run.skipped,
    success_rate = total > 0 and (run.succeeded + run.skipped) * 100.0 / total or 100.0,
    agent_outputs = run.agent_outputs,
  }
  if run.def.type == "parallel" and run.branch_counts then
    extra.total_branches = run.branch_counts.total
    extra.successful_branches = run.branch_counts.succeeded
    extra.failed_branches = run.branch_counts.failed
    extra.merge_strategy = run.def.merge or "combine"
  elseif run.def.type == "conditional" then
    extra.executed_branch = run.branch_taken and run.branch_taken.name
  elseif run.def.type == "loop" then
    extra.iterations = run.iterations or 0
    extra.max_iterations = run.def.max_iterations
  end
  return {
    success = status == "completed" or status == "skipped",
    status = status,
    execution_id = run.exec_id,
    workflow_id = run.wf.id,
    workflow_type = run.def.type,
    workflow_name = run.wf.name,
    text = summary(run, status, duration),
    output = output,
    outputs = run.outputs,
    steps = api.array(run.records),
    error = status ~= "completed" and status ~= "skipped" and run.error or nil,
    duration_ms = duration,
    metadata = { execution_time_ms = duration, extra = extra },
    media = api.array({}),
    tool_calls = api.array({}),
  }
end

local function new_run(wf, state, input, depth)
  local def = state.def
  local run = {
    wf = wf, def = def, state = state, input = input, depth = depth,
    exec_id = "exec_" .. host.new_id(), started = now(), shared = state.shared,
    records = {}, by_name = {}, outputs = {}, agent_outputs = {},
    succeeded = 0, failed = 0, skipped = 0,
  }
  if def.timeout_ms then run.deadline = run.started + def.timeout_ms end
  run.info = { name = wf.name, id = wf.id, type = def.type, execution_id = run.exec_id }
  run.ctx = new_context(run)
  run.env = {
    find = E.find,
    execute = function(child, child_input) return E.execute_nested(child, child_input, depth) end,
  }
  return run
end

--- Set by workflow.lua: the state behind an instance, and a lookup by id or name.
E.state_of = function() return nil end
E.find = function() return nil end

local MAX_DEPTH = 64

-- Run once; returns the result, whether it should raise, and the run.
local function run_once(wf, state, input, depth)
  local run = new_run(wf, state, input, depth)
  state.last_execution_id = run.exec_id
  state.last_run = run
  trace(run, "execution %s started", run.exec_id)
  local decision = fire(run, "BeforeWorkflowStart", { input = plain(input) })
  if decision.action == "cancel" then
    stop(run, "cancelled", "cancelled by hook before start" ..
      (decision.reason and (": " .. decision.reason) or ""))
    return build_result(run, nil), false, run
  elseif decision.action == "skip" or decision.action == "replace" then
    return build_result(run, decision.data,
      decision.action == "skip" and "skipped" or "completed"), false, run
  elseif decision.action == "modified" then
    run.input = decision.data
    run.ctx = new_context(run)
  end
  local ok, output = pcall(runners[state.def.type], run, state.def, run.input)
  if not ok then
    rethrow_abort(output)
    stop(run, "failed", describe(output))
    run.workflow_failure = true
    output = nil
  end
  local result = build_result(run, output)
  return result, result.status == "failed" and state.def.strategy.kind ~= "continue", run
end

local function record_metrics(state, result)
  local m = state.metrics
  m.executions = m.executions + 1
  if result.status == "completed" then m.successes = m.successes + 1
  elseif result.status == "failed" then m.failures = m.failures + 1
  elseif result.status == "cancelled" then m.cancellations = m.cancellations + 1 end
  m.total_duration_ms = m.total_duration_ms + result.duration_ms
  m.last_execution_id, m.last_status = result.execution_id, result.status
  m.last_duration_ms = result.duration_ms
end

--- Execute a workflow; returns the result, or nil and the message to raise (fail-fast).
function E.execute(wf, input, depth)
  local state = E.state_of(wf)
  depth = (depth or 0) + 1
  if depth > MAX_DEPTH then
    return nil, format("workflows nested more than %d deep (does workflow '%s' contain " ..
      "itself?)", MAX_DEPTH, wf.name)
  end
  for _, fn in ipairs(state.callbacks.before) do fn(input, wf) end
  local attempts, result, raise, run = 0, nil, false, nil
  while true do
    attempts = attempts + 1
    result, raise, run = run_once(wf, state, input, depth)
    if result.status == "failed" and run.workflow_failure then
      local decision = fire(run, "WorkflowError", { error = result.error })
      if decision.action == "retry" and attempts < (decision.max_attempts or 3) then
        E.wait(decision.delay_ms or 1000)
        goto again
      end
    end
    do
      local decision = fire(run, "AfterWorkflowComplete", { success = result.success,
        status = result.status, output = plain(result.output), error = result.error,
        duration_ms = result.duration_ms })
      if decision.action == "retry" and attempts < (decision.max_attempts or 3) then
        E.wait(decision.delay_ms or 1000)
        goto again
      elseif decision.action == "modified" or decision.action == "replace" then
        result.output = decision.data
      end
      break
    end
    ::again::
  end
  record_metrics(state, result)
  trace(run, "execution %s %s", result.execution_id, result.status)
  if result.status == "failed" then
    for _, fn in ipairs(state.callbacks.error) do fn(result.error, result) end
    if E.default_error_handler then E.default_error_handler(result.error, result) end
  end
  for _, fn in ipairs(state.callbacks.after) do fn(result) end
  if raise then return nil, result.error end
  return result
end

--- Execute a workflow inside a step: raises the failure message without a position.
function E.execute_nested(wf, input, depth)
  local result, err = E.execute(wf, input, depth)
  if result == nil then error(err, 0) end
  return result
end

return E
