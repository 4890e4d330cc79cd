-- POSTs a GraphQL body template (a JSON file) with __NAME__ replaced by a name unique to each
-- request: PREFIX-<thread>-<counter>. Give every run its own PREFIX.
--   wrk -s bench/wrk/graphql_create.lua URL -- BODY_FILE PREFIX
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

local head, tail, prefix, path
local counter = 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  local body = report.read(args[1])
  local s, e = body:find("__NAME__", 1, true)
  assert(s, "body template has no __NAME__")
  head, tail = body:sub(1, s - 1), body:sub(e + 1)
  prefix = args[2] .. "-" .. tostring(tid or 0) .. "-"
end

function request()
  counter = counter + 1
  return wrk.format("POST", nil, headers, head .. prefix .. counter .. tail)
end

done = report.done
