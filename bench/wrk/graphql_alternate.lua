-- POSTs several fixed GraphQL bodies (JSON files) in turn.
--   wrk -s bench/wrk/graphql_alternate.lua URL -- BODY_FILE BODY_FILE ...
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")
local reqs = {}
local counter = 0

function init(args)
  for i = 1, #args do
    reqs[i] = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, report.read(args[i]))
  end
end

function request()
  counter = counter + 1
  return reqs[(counter % #reqs) + 1]
end

done = report.done
