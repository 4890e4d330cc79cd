-- Loads the upstream REST API directly: cycles through the requests listed in a file, one per
-- line as "METHOD PATH [JSON BODY]"; __NAME__ in a body becomes a name unique to each request.
--   wrk -s bench/wrk/rest.lua URL -- REQUESTS_FILE PREFIX
-- One "operation" is one pass over the file: divide req/s by the number of lines.
local dir = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local report = dofile(dir .. "report.lua")

local threads_made = 0
function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

local items = {}
local prefix
local i, counter = 0, 0
local json = {["Content-Type"] = "application/json"}

function init(args)
  for line in report.read(args[1]):gmatch("[^\n]+") do
    local method, path, body = line:match("^(%S+)%s+(%S+)%s*(.*)$")
    if body == "" then body = nil end
    local item = {method = method, path = path, body = body}
    if body and not body:find("__NAME__", 1, true) then
      item.fixed = wrk.format(method, path, json, body)
    elseif not body then
      item.fixed = wrk.format(method, path)
    end
    items[#items + 1] = item
  end
  prefix = (args[2] or "direct") .. "-" .. tostring(tid or 0) .. "-"
end

function request()
  i = i % #items + 1
  local item = items[i]
  if item.fixed then return item.fixed end
  counter = counter + 1
  local body = item.body:gsub("__NAME__", prefix .. counter, 1)
  return wrk.format(item.method, item.path, json, body)
end

done = report.done
