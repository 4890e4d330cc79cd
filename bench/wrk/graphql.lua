-- POSTs one fixed GraphQL body (a JSON file) to the URL's path.
--   wrk -s bench/wrk/graphql.lua URL -- BODY_FILE
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")
local req

function init(args)
  local body = report.read(args[1])
  req = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end

function request()
  return req
end

done = report.done
