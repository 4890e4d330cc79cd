-- POSTs a GraphQL body (a JSON file), optionally with a different team id per request and a bearer token.
--   wrk -s bench/wrk/graphql_load.lua URL -- BODY_FILE IDS_FILE AUTH PREFIX CONNECTIONS_PER_THREAD
-- IDS_FILE: one id per line, put in place of __TEAM_ID__ in turn (each wrk thread starts at another
--   place in the list); "-" sends the body as it is.
-- AUTH: "none"; "shared" (one token on every request, as a backend-for-frontend sends its own);
--   "per-connection" (twice CONNECTIONS_PER_THREAD tokens per thread, used in turn, so that two requests
--   in flight at once almost never carry the same token, as when each browser has its own).
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

local head, tail, fixed
local ids, tokens = {}, {}
local counter = 0

function init(args)
  local body = report.read(args[1])
  local auth, prefix = args[3] or "none", args[4] or "bench"
  local t = tid or 1
  if auth == "shared" then
    tokens[1] = "Bearer " .. prefix .. "-bff"
  elseif auth == "per-connection" then
    for i = 1, 2 * math.max(1, tonumber(args[5]) or 1) do
      tokens[i] = "Bearer " .. prefix .. "-" .. t .. "-" .. i
    end
  end
  if args[2] and args[2] ~= "-" then
    for line in report.read(args[2]):gmatch("[^\n]+") do
      ids[#ids + 1] = line
    end
    local s, e = body:find("__TEAM_ID__", 1, true)
    assert(s, "body has no __TEAM_ID__")
    head, tail = body:sub(1, s - 1), body:sub(e + 1)
    counter = (t - 1) * math.floor(#ids / 2)  -- threads start apart in the list
  end
  if #ids == 0 and #tokens == 0 then
    fixed = wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
  else
    fixed = nil
    if #ids == 0 then
      head, tail = body, ""
    end
  end
end

local headers = {["Content-Type"] = "application/json"}

function request()
  if fixed then
    return fixed
  end
  counter = counter + 1
  if #tokens > 0 then
    headers["Authorization"] = tokens[(counter % #tokens) + 1]
  end
  local body = head
  if #ids > 0 then
    body = head .. ids[(counter % #ids) + 1] .. tail
  end
  return wrk.format("POST", nil, headers, body)
end

done = report.done
