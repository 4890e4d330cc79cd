-- POSTs a GraphQL body template (a JSON file) with an Idempotency-Key header.
--   wrk -s bench/wrk/graphql_idempotent.lua URL -- BODY_FILE PREFIX fresh    (a new key and name each request)
--   wrk -s bench/wrk/graphql_idempotent.lua URL -- BODY_FILE PREFIX replay   (one key and body: every request replays)
-- __NAME__ in the body is replaced by PREFIX-<thread>-<counter> (fresh) or PREFIX (replay).
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

local head, tail, prefix, fresh, fixed
local counter = 0

function init(args)
  local body = report.read(args[1])
  local s, e = body:find("__NAME__", 1, true)
  assert(s, "body template has no __NAME__")
  head, tail = body:sub(1, s - 1), body:sub(e + 1)
  fresh = args[3] ~= "replay"
  prefix = args[2] .. "-" .. tostring(tid or 0) .. "-"
  if not fresh then
    fixed = wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Idempotency-Key"] = args[2]},
      head .. args[2] .. tail)
  end
end

function request()
  if not fresh then
    return fixed
  end
  counter = counter + 1
  local name = prefix .. counter
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["Idempotency-Key"] = name},
    head .. name .. tail)
end

done = report.done
